# Generates the man page wallet-eventd.1.gz at build time: help2man on `wallet-eventd --help`,
# plus a COMMANDS section holding the --help of every subcommand, found by walking the
# "Subcommands:" lists of the help texts (a new subcommand shows up by itself), and FILES,
# EXIT STATUS and SEE ALSO sections for the installed layout.
#
#   cmake -DDAEMON=<built wallet-eventd> -DHELP2MAN=<help2man> -DGZIP=<gzip> -DOUT=<x.1.gz>
#         -DWORK=<scratch dir> -DPLUGIN_DIR=<installed> -DSCHEMA_DIR=<installed> -P manpage.cmake
foreach(v DAEMON HELP2MAN GZIP OUT WORK PLUGIN_DIR SCHEMA_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "manpage.cmake: -D${v}=... is required")
  endif()
endforeach()
get_filename_component(bindir "${DAEMON}" DIRECTORY)
get_filename_component(exe "${DAEMON}" NAME)
if(NOT exe STREQUAL "wallet-eventd")
  message(FATAL_ERROR "manpage.cmake: expected a binary named wallet-eventd, got ${DAEMON}")
endif()
# Run it by name from PATH so that its usage lines read "wallet-eventd", not a build path.
set(ENV{PATH} "${bindir}:$ENV{PATH}")
set(ENV{LC_ALL} C)
set(ENV{COLUMNS} 80)
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

function(help_text out)
  execute_process(COMMAND wallet-eventd ${ARGN} --help OUTPUT_VARIABLE text ERROR_VARIABLE err
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR text STREQUAL "")
    message(FATAL_ERROR "`wallet-eventd ${ARGN} --help` failed (${rc}): ${err}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# The names listed under "Subcommands:" in a CLI11 help text.
function(subcommands out text)
  set(names "")
  string(FIND "${text}" "\nSubcommands:\n" pos)
  if(pos GREATER -1)
    string(SUBSTRING "${text}" ${pos} -1 tail)
    string(REGEX MATCHALL "\n  [a-z][a-z0-9-]*" found "${tail}")
    foreach(f IN LISTS found)
      string(STRIP "${f}" f)
      list(APPEND names "${f}")
    endforeach()
  endif()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

# Literal text for roff: backslashes, minus signs, and lines starting with a control character.
function(roff_literal out text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

set(commands "")
help_text(root)
subcommands(queue "${root}")
set(pending "${queue}")
while(pending)
  list(POP_FRONT pending cmd)
  string(REPLACE " " ";" words "${cmd}")
  help_text(text ${words})
  list(APPEND commands "${cmd}")
  set(text_${cmd} "${text}")
  subcommands(children "${text}")
  foreach(c IN LISTS children)
    list(APPEND pending "${cmd} ${c}")
  endforeach()
endwhile()

set(inc "[COMMANDS]\n")
string(APPEND inc "Every command takes \\fB\\-\\-help\\fR, and \\fB\\-\\-version\\fR works everywhere.\n")
foreach(cmd IN LISTS commands)
  roff_literal(lit "${text_${cmd}}")
  string(APPEND inc ".SS \"wallet\\-eventd ${cmd}\"\n.nf\n${lit}\n.fi\n")
endforeach()
string(APPEND inc "[FILES]
.TP
.I /etc/wallet\\-eventd/wallet\\-eventd.yaml
The configuration (the default of \\fB\\-\\-config\\fR), every key commented. Check it with
\\fBwallet\\-eventd check\\-config\\fR; \\fBsystemctl reload wallet\\-eventd\\fR applies changes to the
plugin instances.
.TP
.I /var/lib/wallet\\-eventd
state_dir: one directory per plugin instance (the audit log of the shipped configuration is
in audit/audit/); owned by the user wallet\\-eventd.
.TP
.I ${PLUGIN_DIR}
The built\\-in plugins (audit, metrics, notification, security), found there by name.
.TP
.I ${SCHEMA_DIR}
JSON Schemas of the event envelope and of every event type.
.TP
.I /usr/lib/systemd/system/wallet\\-eventd.service
The systemd unit: Type=notify with watchdog, runs as wallet\\-eventd, SIGHUP on reload.
[EXIT STATUS]
0 success; 1 runtime failure; 65 an invalid input line (publish); 75 an event not delivered
(publish); 78 (EX_CONFIG) a refused configuration, reported as file:line:column.
[SEE ALSO]
.BR systemctl (1),
.BR journalctl (1),
/usr/share/doc/wallet\\-eventd/README.md, /usr/share/doc/wallet\\-eventd/packaging.md, and
for plugin authors the wallet\\-eventd\\-dev package.
")
file(WRITE "${WORK}/include.h2m" "${inc}")

execute_process(COMMAND "${HELP2MAN}" --no-info --section=1 "--manual=User Commands"
    "--name=Kafka event bus host for identity wallets, with C-ABI handler plugins"
    "--include=${WORK}/include.h2m" "--output=${WORK}/wallet-eventd.1" wallet-eventd
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man failed (${rc}): ${err}")
endif()
execute_process(COMMAND "${GZIP}" -9n -c "${WORK}/wallet-eventd.1" OUTPUT_FILE "${OUT}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip failed (${rc})")
endif()

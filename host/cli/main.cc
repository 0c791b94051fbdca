// wallet-eventd: the daemon and its command line.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "config/config.h"

int main(int argc, char** argv) {
  using namespace wallet_eventd;
  CLI::App app{
      "wallet-eventd " WEP_VERSION
      " -- the event bus host of an identity wallet: consumes the wallet's events from Kafka "
      "and hands them to handler plugins loaded through a stable C ABI."};
  app.set_version_flag("--version", "wallet-eventd " WEP_VERSION);
  app.require_subcommand(1);
  app.footer("Each command's --help lists its exit codes.");
  app.fallthrough();
  std::string config_path = "/etc/wallet-eventd/wallet-eventd.yaml";
  auto add_config = [&](CLI::App* cmd) {
    cmd->add_option("-c,--config", config_path, "YAML configuration file")->capture_default_str();
  };
  // Every command's --help ends with the exit codes it can return (sysexits.h where one fits;
  // the README's command table says the same).
  auto exit_codes = [](CLI::App* cmd, const std::string& codes, const std::string& usage = "") {
    cmd->footer("Exit codes:\n" + codes +
                "  64  bad command line: an unknown option or a missing argument" +
                (usage.empty() ? "" : ", " + usage));
  };

  auto* run = app.add_subcommand("run", "Run the daemon until SIGINT/SIGTERM (SIGHUP reloads)");
  add_config(run);
  std::optional<double> duration;
  run->add_option("--duration", duration, "Stop by itself after this many seconds");
  exit_codes(run,
             "  0   stopped cleanly (SIGINT/SIGTERM, or --duration elapsed)\n"
             "  1   runtime failure: the bus or the admin endpoint could not be started\n"
             "  78  configuration refused (file:line:column on stderr); nothing started\n");

  auto* check = app.add_subcommand(
      "check-config", "Validate the configuration and its plugins; exit 0 or 78 (EX_CONFIG)");
  add_config(check);
  exit_codes(check,
             "  0   the configuration and every enabled plugin's config are valid\n"
             "  78  refused (every error on stderr as file:line:column)\n");

  auto* publish = app.add_subcommand(
      "publish", "Publish NDJSON events (one per line), each validated, routed and confirmed");
  add_config(publish);
  std::string input = "-";
  bool dry_run = false;
  publish->add_option("input", input, "File of events, one JSON object per line; - = stdin")
      ->capture_default_str();
  publish->add_flag("--dry-run", dry_run,
                    "Validate and print the topic and key of each line without connecting");
  exit_codes(
      publish,
      "  0   every line published and acknowledged (or valid, with --dry-run)\n"
      "  1   the publisher could not be set up (e.g. the demo's embedded broker is not running)\n"
      "  65  a line was invalid (reported with its line number; the others are sent)\n"
      "  74  the input could not be read (e.g. a directory)\n"
      "  75  a line was not delivered; at once, with the reason, when the login or the\n"
      "      TLS handshake fails\n"
      "  78  configuration refused\n",
      "an input file that cannot be opened");

  auto* tail = app.add_subcommand("tail", "Print events from the bus as JSON lines");
  add_config(tail);
  cli::TailOptions tail_opts;
  tail->add_option("--type", tail_opts.types, "Only these event types (repeatable)");
  tail->add_flag("--from-beginning", tail_opts.from_beginning,
                 "Start at the oldest retained event instead of new ones");
  tail->add_flag("--records", tail_opts.records,
                 "Print {topic, partition, offset, key, headers, event} per line");
  tail->add_option("--max", tail_opts.max_events, "Exit after this many events");
  tail->add_option("--idle-timeout", tail_opts.idle_timeout_s,
                   "Exit after this many seconds without an event");
  exit_codes(
      tail,
      "  0   --max or --idle-timeout reached, or interrupted\n"
      "  1   the subscriber could not be set up (e.g. the demo's embedded broker is not running)\n"
      "  75  the login or the TLS handshake failed (at once, with the reason)\n"
      "  78  configuration refused\n",
      "an unknown --type");

  auto* plugins = app.add_subcommand("plugins", "Inspect handler plugins");
  plugins->require_subcommand(1);
  auto* list = plugins->add_subcommand("list", "List the plugin instances of the configuration");
  add_config(list);
  exit_codes(list, "  0   listed\n  78  configuration refused\n");
  auto* inspect = plugins->add_subcommand(
      "inspect", "Show a plugin library's descriptor: ABI, subscriptions, config keys");
  std::string plugin_file;
  inspect->add_option("file", plugin_file, "Plugin shared library (.so) or built-in name")
      ->required();
  exit_codes(inspect, "  0   shown\n  1   not a loadable plugin (the reason on stderr)\n");

  auto* audit = app.add_subcommand("audit", "Audit log tools");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand(
      "verify", "Check the audit log's hash chain; exit 0 only for an intact log");
  std::string audit_dir, audit_prefix = "audit";
  verify->add_option("dir", audit_dir, "Audit log directory")->required();
  verify->add_option("--prefix", audit_prefix, "File name prefix")->capture_default_str();
  exit_codes(verify,
             "  0   intact\n"
             "  1   broken or unreadable: the first bad record as file:line on stderr\n");

  auto* dlq = app.add_subcommand("dlq", "Dead-letter queue tools");
  dlq->require_subcommand(1);
  auto* replay = dlq->add_subcommand(
      "replay",
      "Re-drive DLQ records to their original topic (only to the instance that failed them, "
      "when one did); the DLQ position is committed after each republish is acknowledged");
  add_config(replay);
  cli::DlqReplayOptions replay_opts;
  replay->add_option("--instance", replay_opts.instance,
                     "Only records dead-lettered by this plugin instance");
  replay->add_option("--error-contains", replay_opts.error_contains,
                     "Only records whose dlq.error or dlq.error.code contains this text");
  replay->add_option("--since", replay_opts.since,
                     "Only records dead-lettered at or after this time: RFC 3339, or a duration "
                     "back from now (90s, 15m, 2h, 7d)");
  replay->add_option("--max-replays", replay_opts.max_replays,
                     "Leave records already replayed this often (default: dlq.max_replays)");
  replay->add_option("--group", replay_opts.group,
                     "Consumer group that keeps the replay position (default "
                     "<group_prefix>.dlq-replay)");
  replay->add_flag("--dry-run", replay_opts.dry_run,
                   "Print what would be replayed; send and commit nothing");
  exit_codes(replay,
             "  0   done up to the DLQ's end at the start (records left are listed)\n"
             "  1   runtime failure (no progress, commit failed, DLQ unreachable)\n"
             "  75  a republish was not acknowledged, or the login or TLS handshake failed\n"
             "  78  configuration refused\n",
             "an unknown --instance, a --since that is no time");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return cli::kExitUsage;
  }

  if (*run) return cli::run(config_path, duration);
  if (*check) return cli::check_config(config_path);
  if (*publish) return cli::publish(config_path, input, dry_run);
  if (*tail) return cli::tail(config_path, tail_opts);
  if (*list) return cli::plugins_list(config_path);
  if (*inspect) return cli::plugins_inspect(plugin_file);
  if (*verify) return cli::audit_verify(audit_dir, audit_prefix);
  if (*replay) return cli::dlq_replay(config_path, replay_opts);
  return cli::kExitUsage;
}

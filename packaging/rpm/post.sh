# %post of wallet-eventd: on a first install enable the service, do not start it.
/sbin/ldconfig
systemctl daemon-reload >/dev/null 2>&1 || :
if [ "$1" -eq 1 ]; then
  systemctl --no-reload enable wallet-eventd.service >/dev/null 2>&1 || :
fi
exit 0

# %preun of wallet-eventd: on erase (not upgrade) disable and stop the service.
if [ "$1" -eq 0 ]; then
  systemctl --no-reload disable --now wallet-eventd.service >/dev/null 2>&1 || :
fi
exit 0

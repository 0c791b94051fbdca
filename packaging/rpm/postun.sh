# %postun of wallet-eventd: on upgrade restart a running service on the new binary.
# On erase, rpm keeps a changed %config(noreplace) file as .rpmsave, and the files the
# service wrote in /var/lib/wallet-eventd (not rpm's) stay, with their directory.
/sbin/ldconfig
systemctl daemon-reload >/dev/null 2>&1 || :
if [ "$1" -ge 1 ]; then
  systemctl try-restart wallet-eventd.service >/dev/null 2>&1 || :
fi
exit 0

# %pre of wallet-eventd: the service's system user and group (never removed, per the usual
# RPM convention: files it owned may outlive the package).
getent group wallet-eventd >/dev/null || groupadd -r wallet-eventd
getent passwd wallet-eventd >/dev/null || \
  useradd -r -g wallet-eventd -d /var/lib/wallet-eventd -s /sbin/nologin \
    -c "wallet-eventd service" wallet-eventd
exit 0

#!/usr/bin/env bash
# Re-extract the interface text and merge it into the zh_CN catalogue (then translate the new
# entries in src/kaohe/web/locale/zh_CN/LC_MESSAGES/messages.po; tests/web/test_i18n.py
# fails while one is missing). English needs no catalogue: message ids are English.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
LOCALE=src/kaohe/web/locale
"$PYBABEL" extract -F babel.cfg --no-location --sort-output --project kaohe \
  -k N_ -o "$LOCALE/messages.pot" .
if [ -f "$LOCALE/zh_CN/LC_MESSAGES/messages.po" ]; then
  "$PYBABEL" update --no-fuzzy-matching -i "$LOCALE/messages.pot" -d "$LOCALE" -l zh_CN
else
  "$PYBABEL" init -i "$LOCALE/messages.pot" -d "$LOCALE" -l zh_CN
fi

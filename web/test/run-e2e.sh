#!/bin/sh
# web.e2e (tests/CMakeLists.txt): the browser test, run from web/. After a
# failure it runs once more, on a new server and new browser contexts,
# and that run decides: a real Chromium beside a sanitized server and the
# rest of the suite on two cores has shown steps that lose a race with
# the page now and then (docs/web.md, "Flakes"). A failure of the first
# run is printed, never hidden.
node=${1:?usage: run-e2e.sh NODE}
"$node" test/e2e.mjs && exit 0
echo "web.e2e: the first run failed (above); running it once more" >&2
exec "$node" test/e2e.mjs

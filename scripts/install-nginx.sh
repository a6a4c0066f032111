#!/bin/bash
# install-nginx.sh: installs nginx-light with apt-get when no nginx binary is
# present (as root). Only the binary is used (examples/multi-instance runs
# its own nginx on a loopback port), so the package is kept from starting
# the distribution's nginx service (port 80) while it installs. Used by
# examples/multi-instance/run.sh up and by .ci/run.
set -euo pipefail

if command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]]; then
	exit 0
fi
if ((EUID != 0)) || ! command -v apt-get >/dev/null; then
	echo "install-nginx: nginx not found; install it (apt-get install nginx-light)" >&2
	exit 1
fi
echo "install-nginx: nginx not found: installing nginx-light"
guard=""
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
	guard=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' >"$guard"
	chmod +x "$guard"
fi
ok=1
DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || ok=0
if ((ok)); then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null || ok=0
fi
if [[ -n $guard ]]; then
	rm -f "$guard"
fi
((ok)) || { echo "install-nginx: apt-get install nginx-light failed" >&2; exit 1; }
[[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null || { echo "install-nginx: nginx-light installed but no nginx binary found" >&2; exit 1; }

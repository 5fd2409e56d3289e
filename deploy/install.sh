#!/bin/sh
# IronClaw installer: downloads a release, checks it against SHA256SUMS before unpacking anything, and
# installs it beside the previous one so that an upgrade is one atomic switch and a rollback another.
#
#   curl -fsSL https://github.com/<owner>/<repo>/releases/latest/download/install.sh | sh
#   sh install.sh [--rollback | --uninstall [--purge] | --help]
#
# Layout (PREFIX is /usr/local/lib/ironclaw as root, else ~/.local/lib/ironclaw):
#   PREFIX/releases/<version>/   the release archive's files: ironclaw, ironclaw-agent, ironclaw-probe,
#                                libsqlcipher.so, ironclaw.service and this installer (what
#                                `ironclaw rollback` runs)
# As root also /etc/systemd/system/ironclaw.service and /etc/ironclaw/{ironclaw.env,master-passphrase}.
#   PREFIX/current -> releases/<version>     (switched with one rename)
#   PREFIX/previous -> releases/<older>      (what --rollback and `ironclaw rollback` return to)
#   BINDIR/ironclaw -> PREFIX/current/ironclaw
set -eu

IRONCLAW_REPO=${IRONCLAW_REPO:-ironclaw/ironclaw}

usage() {
	cat <<'EOF'
Usage: install.sh [--rollback | --uninstall [--purge] | --help]

Installs (or upgrades to) an IronClaw release for this machine (Linux x64 or arm64).

  (no option)   download, verify against SHA256SUMS, install; over an existing install, switch to it
                atomically and keep the previous release for --rollback
  --rollback    switch back to the previous release (refused if the state is newer than it knows)
  --uninstall   remove the binaries and the releases; the state and /etc/ironclaw stay
  --purge       with --uninstall: also delete the state directory and /etc/ironclaw (everything)

Environment:
  IRONCLAW_VERSION      the version to install (default: the latest release)
  IRONCLAW_RELEASE_URL  where the archives and SHA256SUMS are (default: the GitHub releases of
                        IRONCLAW_REPO, which a released install.sh names: the repository it came from)
  IRONCLAW_BINDIR       where the ironclaw command goes (default /usr/local/bin as root, else ~/.local/bin)
  IRONCLAW_PREFIX       where the releases are kept (default /usr/local/lib/ironclaw as root,
                        else ~/.local/lib/ironclaw)
  IRONCLAW_STATE_DIR    the state directory whose schema an install must understand
                        (default /var/lib/ironclaw as root, else ~/.local/state/ironclaw)
  IRONCLAW_CONFIG_DIR   as root: configuration and secrets (default /etc/ironclaw)
  IRONCLAW_UNIT_DIR     as root: where ironclaw.service goes (default /etc/systemd/system)
EOF
}

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}

if [ "$(id -u)" -eq 0 ]; then
	BINDIR=${IRONCLAW_BINDIR:-/usr/local/bin}
	PREFIX=${IRONCLAW_PREFIX:-/usr/local/lib/ironclaw}
	STATE_DIR=${IRONCLAW_STATE_DIR:-/var/lib/ironclaw}
	CONFIG_DIR=${IRONCLAW_CONFIG_DIR:-/etc/ironclaw}
	UNIT_DIR=${IRONCLAW_UNIT_DIR:-/etc/systemd/system}
else
	BINDIR=${IRONCLAW_BINDIR:-$HOME/.local/bin}
	PREFIX=${IRONCLAW_PREFIX:-$HOME/.local/lib/ironclaw}
	STATE_DIR=${IRONCLAW_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/ironclaw}
	CONFIG_DIR=""
	UNIT_DIR=""
fi

release_arch() {
	[ "$(uname -s)" = Linux ] || die "IronClaw releases are for Linux; this is $(uname -s)"
	case $(uname -m) in
	x86_64 | amd64) echo x64 ;;
	aarch64 | arm64) echo arm64 ;;
	*) die "no IronClaw release for $(uname -m) (there are x64 and arm64); build from source instead" ;;
	esac
}

# fetch URL FILE: curl, else wget; http(s) and file URLs.
fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL -o "$2" "$1" || die "cannot download $1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$2" "$1" || die "cannot download $1"
	else
		die "neither curl nor wget is installed: apt-get install -y curl"
	fi
}

sha256_of() {
	sha256sum "$1" | cut -d ' ' -f 1
}

# The schema version the ironclaw at $1 migrates to ('ironclaw version --json').
schema_of_binary() {
	"$1" version --json | sed -n 's/.*"schema": *\([0-9][0-9]*\).*/\1/p'
}

# The schema version the state directory was last opened with (0 when there is none yet).
schema_of_state() {
	if [ -f "$STATE_DIR/schema-version" ]; then
		tr -dc '0-9' <"$STATE_DIR/schema-version"
	else
		echo 0
	fi
}

# refuse_older_schema BINARY VERSION: stop when the state is newer than that release understands.
refuse_older_schema() {
	knows=$(schema_of_binary "$1")
	[ -n "$knows" ] || die "$1 does not report its schema version; nothing was changed"
	has=$(schema_of_state)
	if [ "$has" -gt "$knows" ]; then
		die "the state in $STATE_DIR has schema version $has, newer than $2 knows ($knows): refusing (restore a backup made before the upgrade into a new state directory to go back); nothing was changed"
	fi
}

# switch_link NAME TARGET: PREFIX/NAME -> TARGET, replaced with one rename.
switch_link() {
	ln -s "$2" "$PREFIX/.$1.new"
	mv -T "$PREFIX/.$1.new" "$PREFIX/$1"
}

link_target() {
	if [ -L "$PREFIX/$1" ]; then readlink "$PREFIX/$1"; fi
}

link_command() {
	mkdir -p "$BINDIR"
	ln -s "$PREFIX/current/ironclaw" "$BINDIR/.ironclaw.new"
	mv -T "$BINDIR/.ironclaw.new" "$BINDIR/ironclaw"
}

# Whether systemd runs the unit this installer manages: as root, with systemctl, and the unit where systemd
# reads it (an IRONCLAW_UNIT_DIR elsewhere, as in tests, is left to whoever named it).
systemd_manages() {
	[ "$(id -u)" -eq 0 ] && [ -z "${IRONCLAW_UNIT_DIR:-}" ] && command -v systemctl >/dev/null 2>&1
}

# A running service picks up the switch (root, systemd, the unit installed and active).
restart_service() {
	if systemd_manages && systemctl is-active --quiet ironclaw.service 2>/dev/null; then
		say "restarting ironclaw.service"
		systemctl restart ironclaw.service
	fi
}

# As root: the unit (its ExecStart naming this BINDIR), /etc/ironclaw (0700) with an empty ironclaw.env and a
# random master-key passphrase (both 0600, never overwritten: they may hold the only copy).
install_service() {
	[ -n "$UNIT_DIR" ] || return 0
	# No systemd here (and no directory named): no unit.
	if [ -z "${IRONCLAW_UNIT_DIR:-}" ] && [ ! -d /etc/systemd ]; then return 0; fi
	mkdir -p "$UNIT_DIR"
	sed "s#/usr/local/bin/ironclaw #$BINDIR/ironclaw #" "$PREFIX/current/ironclaw.service" >"$UNIT_DIR/.ironclaw.service.new"
	mv -f "$UNIT_DIR/.ironclaw.service.new" "$UNIT_DIR/ironclaw.service"
	(
		umask 077
		mkdir -p "$CONFIG_DIR"
		chmod 700 "$CONFIG_DIR"
		if [ ! -e "$CONFIG_DIR/ironclaw.env" ]; then
			printf '# Variables for ironclaw serve, e.g. TELEGRAM_BOT_TOKEN=..., ANTHROPIC_API_KEY=...\n' >"$CONFIG_DIR/ironclaw.env"
		fi
		if [ ! -e "$CONFIG_DIR/master-passphrase" ]; then
			od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$CONFIG_DIR/master-passphrase"
			say "wrote a random master-key passphrase to $CONFIG_DIR/master-passphrase (0600): keep a copy somewhere safe"
		fi
	)
	if systemd_manages; then systemctl daemon-reload 2>/dev/null || true; fi
	say "installed $UNIT_DIR/ironclaw.service: systemctl enable --now ironclaw"
}

check_runtime() {
	if ! command -v runsc >/dev/null 2>&1 && ! command -v bwrap >/dev/null 2>&1; then
		say "no sandbox runtime found: IronClaw runs every agent under gVisor (runsc) or bubblewrap."
		say "  install one: apt-get install -y runsc    (or: apt-get install -y bubblewrap)"
	fi
	if command -v ldconfig >/dev/null 2>&1 && ! ldconfig -p 2>/dev/null | grep -q 'libcrypto\.so\.3'; then
		say "libsqlcipher.so needs OpenSSL 3's libcrypto: apt-get install -y libssl3"
	fi
}

install_release() {
	arch=$(release_arch)
	if [ -n "${IRONCLAW_RELEASE_URL:-}" ]; then
		base=${IRONCLAW_RELEASE_URL%/}
	elif [ -n "${IRONCLAW_VERSION:-}" ]; then
		base="https://github.com/$IRONCLAW_REPO/releases/download/v$IRONCLAW_VERSION"
	else
		base="https://github.com/$IRONCLAW_REPO/releases/latest/download"
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT INT TERM

	fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS"
	if [ -n "${IRONCLAW_VERSION:-}" ]; then
		archive="ironclaw_${IRONCLAW_VERSION}_linux-$arch.tar.gz"
		grep -q "  $archive\$" "$tmp/SHA256SUMS" || die "$base/SHA256SUMS lists no $archive"
	else
		archive=$(sed -n "s/^[0-9a-f]\{64\}  \(ironclaw_[^_/]*_linux-$arch\.tar\.gz\)\$/\1/p" "$tmp/SHA256SUMS")
		[ -n "$archive" ] || die "$base/SHA256SUMS lists no archive for linux-$arch"
		[ "$(echo "$archive" | wc -l)" -eq 1 ] || die "$base/SHA256SUMS lists several archives for linux-$arch: set IRONCLAW_VERSION"
	fi
	version=${archive#ironclaw_}
	version=${version%_linux-"$arch".tar.gz}
	expected=$(sed -n "s/^\([0-9a-f]\{64\}\)  $archive\$/\1/p" "$tmp/SHA256SUMS")

	say "downloading $archive from $base"
	fetch "$base/$archive" "$tmp/$archive"
	actual=$(sha256_of "$tmp/$archive")
	if [ "$actual" != "$expected" ]; then
		die "checksum mismatch for $archive: SHA256SUMS says $expected, the download is $actual; nothing was installed"
	fi

	mkdir "$tmp/unpacked"
	tar -xzf "$tmp/$archive" -C "$tmp/unpacked" --no-same-owner
	unpacked="$tmp/unpacked/ironclaw_${version}_linux-$arch"
	for file in ironclaw ironclaw-agent ironclaw-probe libsqlcipher.so install.sh ironclaw.service; do
		[ -f "$unpacked/$file" ] || die "$archive holds no $file; nothing was installed"
	done
	runs=$("$unpacked/ironclaw" version 2>&1) || die "the release's ironclaw does not run here: $runs; nothing was installed"
	refuse_older_schema "$unpacked/ironclaw" "$version"

	mkdir -p "$PREFIX/releases"
	chmod 755 "$PREFIX" "$PREFIX/releases"
	old=$(link_target current)
	if [ "$old" = "releases/$version" ]; then
		say "IronClaw $version is already installed in $PREFIX; reinstalling its files"
	fi
	rm -rf "$PREFIX/releases/.$version.new"
	cp -R "$unpacked" "$PREFIX/releases/.$version.new"
	chmod 755 "$PREFIX/releases/.$version.new"
	if [ -e "$PREFIX/releases/$version" ]; then
		mv -T "$PREFIX/releases/$version" "$PREFIX/releases/.$version.old"
	fi
	mv -T "$PREFIX/releases/.$version.new" "$PREFIX/releases/$version"
	rm -rf "$PREFIX/releases/.$version.old"
	switch_link current "releases/$version"
	if [ -n "$old" ] && [ "$old" != "releases/$version" ]; then switch_link previous "$old"; fi
	link_command

	# Keep two releases: the current one and the one to roll back to.
	keep_previous=$(link_target previous)
	for dir in "$PREFIX"/releases/*; do
		[ -d "$dir" ] || continue
		rel="releases/$(basename "$dir")"
		[ "$rel" = "releases/$version" ] || [ "$rel" = "$keep_previous" ] || rm -rf "$dir"
	done

	say "installed IronClaw $version: $BINDIR/ironclaw -> $PREFIX/releases/$version/ironclaw"
	if [ -n "$old" ] && [ "$old" != "releases/$version" ]; then
		say "kept ${old#releases/} for rollback: ironclaw rollback"
	fi
	case ":$PATH:" in
	*":$BINDIR:"*) ;;
	*) say "$BINDIR is not in your PATH: export PATH=\"$BINDIR:\$PATH\"" ;;
	esac
	install_service
	check_runtime
	restart_service
	say "next: ironclaw doctor"
}

rollback() {
	previous=$(link_target previous)
	if [ -z "$previous" ] || [ ! -x "$PREFIX/$previous/ironclaw" ]; then
		die "no previous release in $PREFIX to roll back to"
	fi
	current=$(link_target current)
	refuse_older_schema "$PREFIX/$previous/ironclaw" "${previous#releases/}"
	switch_link current "$previous"
	if [ -n "$current" ]; then switch_link previous "$current"; fi
	say "rolled back to IronClaw ${previous#releases/} (${current#releases/} kept as the previous release)"
	restart_service
}

uninstall() {
	purge=$1
	if [ -n "$UNIT_DIR" ] && [ -f "$UNIT_DIR/ironclaw.service" ]; then
		if systemd_manages; then systemctl disable --now ironclaw.service 2>/dev/null || true; fi
		rm -f "$UNIT_DIR/ironclaw.service"
		if systemd_manages; then systemctl daemon-reload 2>/dev/null || true; fi
	fi
	if [ -L "$BINDIR/ironclaw" ]; then rm -f "$BINDIR/ironclaw"; fi
	rm -rf "$PREFIX"
	if [ "$purge" = yes ]; then
		rm -rf "$STATE_DIR"
		[ -n "$CONFIG_DIR" ] && rm -rf "$CONFIG_DIR"
		say "removed IronClaw, its state ($STATE_DIR) and its configuration"
	else
		say "removed IronClaw's binaries; kept the state in $STATE_DIR${CONFIG_DIR:+ and $CONFIG_DIR} (--uninstall --purge deletes them)"
	fi
}

action=install
purge=no
while [ $# -gt 0 ]; do
	case $1 in
	--rollback) action=rollback ;;
	--uninstall) action=uninstall ;;
	--purge) purge=yes ;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
[ "$purge" = no ] || [ "$action" = uninstall ] || die "--purge goes with --uninstall"

case $action in
install) install_release ;;
rollback) rollback ;;
uninstall) uninstall "$purge" ;;
esac

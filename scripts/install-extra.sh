#!/usr/bin/env bash
# Install everything but the two binaries (the Makefile's install target does
# those and then calls this): systemd units and their helper, tmpfiles.d and
# sysusers.d entries, sample configs, man pages, the NFQUEUE rules helper and
# rulesets, the documentation, and the kernel module's source for DKMS.
#
# Paths come from the Makefile (DESTDIR PREFIX SYSCONFDIR DATADIR MANDIR
# UNITDIR VERSION, SBINDIR); each has a default so it runs on its own too.
# Paths written inside the installed units are rewritten to match.
# Existing configuration under SYSCONFDIR is never overwritten: the new
# sample goes beside it as FILE.dist.
set -euo pipefail
cd "$(dirname "$0")/.."

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
# A system prefix installs the configuration in /etc, the units where systemd
# looks and the module source where DKMS looks, and (without DESTDIR, as
# root) creates the user and /run/doppel. Any other PREFIX is a private
# tree: every file goes under it, and nothing outside it is touched.
case "${PREFIX%/}" in
/usr | /usr/local) system_prefix=yes ;;
*) system_prefix=no ;;
esac
if [ "$system_prefix" = yes ]; then
	etc_default=/etc unit_default=/lib/systemd/system src_default=/usr/src
else
	etc_default=$PREFIX/etc unit_default=$PREFIX/lib/systemd/system src_default=$PREFIX/src
fi
SBINDIR=${SBINDIR:-$PREFIX/sbin}
LIBEXECDIR=${LIBEXECDIR:-$PREFIX/libexec}
SYSCONFDIR=${SYSCONFDIR:-$etc_default}
DATADIR=${DATADIR:-$PREFIX/share}
MANDIR=${MANDIR:-$DATADIR/man}
DOCDIR=${DOCDIR:-$DATADIR/doc/doppel}
UNITDIR=${UNITDIR:-$unit_default}
TMPFILESDIR=${TMPFILESDIR:-$PREFIX/lib/tmpfiles.d}
SYSUSERSDIR=${SYSUSERSDIR:-$PREFIX/lib/sysusers.d}
# DKMS looks for sources in /usr/src only: a private prefix gets them in
# PREFIX/src, to copy there by hand.
DKMS_SRCDIR=${DKMS_SRCDIR:-$src_default}
VERSION=${VERSION:-$(sed -n 's/^VERSION *:= *//p' Makefile)}

say() { echo "install-extra: $*"; }

# Units point at the binaries, helper, configs and docs where they really are.
install_unit() {
	local unit=$1
	install -d "$DESTDIR$UNITDIR"
	sed -e "s|/usr/sbin/doppel-|$SBINDIR/doppel-|g" \
	    -e "s|/usr/libexec/doppel/|$LIBEXECDIR/doppel/|g" \
	    -e "s|/etc/doppel/|$SYSCONFDIR/doppel/|g" \
	    -e "s|/usr/share/doc/doppel/|$DOCDIR/|g" \
	    "systemd/$unit" >"$DESTDIR$UNITDIR/$unit"
	chmod 0644 "$DESTDIR$UNITDIR/$unit"
}

install_config() {
	local file=$1 target="$DESTDIR$SYSCONFDIR/doppel/$1"
	install -d -m 0755 "$DESTDIR$SYSCONFDIR/doppel"
	if [ -e "$target" ]; then
		install -m 0644 "systemd/$file" "$target.dist"
		say "kept $target; the new sample is $target.dist"
	else
		install -m 0644 "systemd/$file" "$target"
	fi
}

install_units() {
	install_unit doppel-copy.service
	install_unit doppel-intercept.service
	install -d "$DESTDIR$LIBEXECDIR/doppel"
	sed -e "s|/etc/doppel/|$SYSCONFDIR/doppel/|g" \
	    -e "s|^rules=\${DOPPEL_RULES:-doppel-rules}|rules=\${DOPPEL_RULES:-$SBINDIR/doppel-rules}|" \
	    systemd/doppel-intercept-setup >"$DESTDIR$LIBEXECDIR/doppel/doppel-intercept-setup"
	chmod 0755 "$DESTDIR$LIBEXECDIR/doppel/doppel-intercept-setup"
	install -D -m 0644 systemd/doppel.tmpfiles "$DESTDIR$TMPFILESDIR/doppel.conf"
	install -D -m 0644 systemd/doppel.sysusers "$DESTDIR$SYSUSERSDIR/doppel.conf"
	install_config doppel-copy.conf
	install_config doppel-intercept.conf
	install_config doppel-intercept.env
	install_logrotate
}

# The daemons' -l files under /var/log/doppel rotate with logrotate when it
# is there; an operator's edited copy is kept, as for the configs.
install_logrotate() {
	local target="$DESTDIR$SYSCONFDIR/logrotate.d/doppel"
	install -d -m 0755 "$DESTDIR$SYSCONFDIR/logrotate.d"
	if [ -e "$target" ] && ! cmp -s systemd/doppel.logrotate "$target"; then
		install -m 0644 systemd/doppel.logrotate "$target.dist"
		say "kept $target; the new one is $target.dist"
	else
		install -m 0644 systemd/doppel.logrotate "$target"
	fi
}

install_man() {
	install -d "$DESTDIR$MANDIR/man8" "$DESTDIR$MANDIR/man1"
	install -m 0644 man/*.8 "$DESTDIR$MANDIR/man8/"
	install -m 0644 man/*.1 "$DESTDIR$MANDIR/man1/"
	# The module's page, when kmod/ ships one.
	if [ -f kmod/doppel.4 ]; then
		install -D -m 0644 kmod/doppel.4 "$DESTDIR$MANDIR/man4/doppel.4"
	fi
}

# nft/doppel-rules is a command; the .nft rulesets are examples to edit and
# load by hand (doppel-rules builds its own), so they go with the docs.
install_nft() {
	local f
	if [ ! -d nft ]; then
		say "no nft/ in this tree: NFQUEUE rules helper not installed"
		return
	fi
	for f in nft/*; do
		[ -f "$f" ] || continue
		if [ "$f" = nft/doppel-rules ] || [ "$f" = nft/doppel-tunnel ]; then
			install -D -m 0755 "$f" "$DESTDIR$SBINDIR/${f#nft/}"
		else
			install -D -m 0644 "$f" "$DESTDIR$DOCDIR/examples/$f"
		fi
	done
}

install_docs() {
	local f
	install -d "$DESTDIR$DOCDIR"
	for f in README.md docs/*.md; do
		[ -f "$f" ] && install -m 0644 "$f" "$DESTDIR$DOCDIR/"
	done
	# The sysctl settings deployment.md gives, per role: examples to copy
	# to /etc/sysctl.d/90-doppel.conf on that host only (forwarding off is
	# right for an assistant, not for a router that runs doppel-copy).
	install -D -m 0644 systemd/sysctl-assistant.conf \
		"$DESTDIR$DOCDIR/examples/sysctl.d/90-doppel-assistant.conf"
	install -D -m 0644 systemd/sysctl-target.conf \
		"$DESTDIR$DOCDIR/examples/sysctl.d/90-doppel-target.conf"
}

# The module's source as DKMS wants it: /usr/src/doppel-VERSION/dkms.conf
# beside the tree it builds (kmod/, and include/uapi/ which kmod/ shares
# with intercept/), laid out as in this repository. Sources only: no
# objects from an earlier in-tree build.
install_dkms_source() {
	local dest="$DESTDIR$DKMS_SRCDIR/doppel-$VERSION" f
	if [ ! -f dkms.conf ] || [ ! -d kmod ]; then
		say "no dkms.conf or kmod/ in this tree: module source not installed"
		return
	fi
	install -d "$dest"
	sed -e "s/#MODULE_VERSION#/$VERSION/" dkms.conf >"$dest/dkms.conf"
	chmod 0644 "$dest/dkms.conf"
	while IFS= read -r f; do
		install -D -m 0644 "$f" "$dest/$f"
	done < <(find kmod include -type f \( -name '*.[ch]' -o -name Makefile \
		-o -name Kbuild -o -name '*.md' \) ! -name '*.mod.c' | sort)
}

# On a live system (no DESTDIR, a system prefix), create the user and
# /run/doppel now and tell systemd about the new units.
activate() {
	[ -z "$DESTDIR" ] && [ "$system_prefix" = yes ] && [ "$(id -u)" = 0 ] || return 0
	if command -v systemd-sysusers >/dev/null 2>&1; then
		systemd-sysusers "$SYSUSERSDIR/doppel.conf" || say "systemd-sysusers failed"
	fi
	if command -v systemd-tmpfiles >/dev/null 2>&1; then
		systemd-tmpfiles --create "$TMPFILESDIR/doppel.conf" || say "systemd-tmpfiles failed"
	fi
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || say "systemctl daemon-reload failed"
	fi
}

# `make uninstall`: remove what this script installed, except the
# configuration in SYSCONFDIR/doppel (as dpkg's remove keeps conffiles).
uninstall() {
	rm -f "$DESTDIR$UNITDIR/doppel-copy.service" "$DESTDIR$UNITDIR/doppel-intercept.service" \
		"$DESTDIR$TMPFILESDIR/doppel.conf" "$DESTDIR$SYSUSERSDIR/doppel.conf" \
		"$DESTDIR$SBINDIR/doppel-rules" "$DESTDIR$SBINDIR/doppel-tunnel" \
		"$DESTDIR$MANDIR/man4/doppel.4" \
		"$DESTDIR$MANDIR"/man8/doppel-{copy,intercept,rules,tunnel}.8 \
		"$DESTDIR$MANDIR/man1/doppel-compare-report.1"
	# DKMS first, while the source it points at is still there.
	if [ -z "$DESTDIR" ] && [ "$system_prefix" = yes ] && command -v dkms >/dev/null 2>&1 &&
		[ -n "$(dkms status -m doppel -v "$VERSION" 2>/dev/null)" ]; then
		dkms remove -m doppel -v "$VERSION" --all || say "dkms remove failed"
	fi
	rm -rf "$DESTDIR$LIBEXECDIR/doppel" "$DESTDIR$DOCDIR" "$DESTDIR$DKMS_SRCDIR/doppel-$VERSION"
	if [ -z "$DESTDIR" ] && [ "$system_prefix" = yes ] && [ -d /run/systemd/system ]; then
		systemctl daemon-reload || say "systemctl daemon-reload failed"
	fi
	# logrotate's file goes when it is the one shipped (an edited one stays).
	if cmp -s systemd/doppel.logrotate "$DESTDIR$SYSCONFDIR/logrotate.d/doppel"; then
		rm -f "$DESTDIR$SYSCONFDIR/logrotate.d/doppel"
	fi
	say "kept $DESTDIR$SYSCONFDIR/doppel/ (your configuration) and the user doppel"
}

case "${1:-install}" in
install)
	install_units
	install_man
	install_nft
	install_docs
	install_dkms_source
	activate
	;;
uninstall)
	uninstall
	;;
*)
	echo "usage: install-extra.sh [install|uninstall]" >&2
	exit 2
	;;
esac

#!/bin/sh
#
# Installs vmstated's FreeBSD integration: the rc.d script, the manual pages,
# the newsyslog entry, the Prometheus alert rules, the VM configuration
# directory and the log directory.
# The programs themselves come from npm (npm install -g of the package, see
# README.md); this script is in that package, so after that, as root:
#
#   sh "$(npm root -g)/vmstated/bin/install-system.sh"
#   PREFIX=/opt/local sh "$(npm root -g)/vmstated/bin/install-system.sh"
#   DESTDIR=/tmp/stage sh bin/install-system.sh      # in a checkout: npm run install-system
#
# PREFIX (default /usr/local) is where rc.d, the manuals, the newsyslog entry
# and the configuration directory go; BINDIR (default $PREFIX/bin) is where the
# rc.d script expects the vmstated program. DESTDIR is prepended to every path
# written (staging, packaging, tests); /var/log/vmstated goes under it too.
#
# Safe to run again: it never touches the VM configurations, and keeps a
# newsyslog entry the admin changed (the new one is left beside it as
# vmstated.conf.sample).
set -eu

PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$PREFIX/bin}
DESTDIR=${DESTDIR:-}
LOGDIR=/var/log/vmstated
SRC=$(cd "$(dirname "$0")/.." && pwd)

case "$PREFIX" in
/*) ;;
*) echo "install-system: PREFIX must be an absolute path, not \"$PREFIX\"" >&2; exit 2 ;;
esac

say()
{
	printf '%s\n' "$*"
}

# make_dir mode dir: create dir (and its parents) unless it exists; an
# existing directory keeps its mode and owner.
make_dir()
{
	if [ ! -d "$2" ]; then
		mkdir -p "$2"
		chmod "$1" "$2"
		say "created   $2"
	fi
}

# put_file mode source target: install source as target, replacing it.
put_file()
{
	make_dir 755 "$(dirname "$3")"
	tmp="$3.new.$$"
	cp "$2" "$tmp"
	chmod "$1" "$tmp"
	mv -f "$tmp" "$3"
	say "installed $3"
}

# The rc.d script, with the paths of this PREFIX and BINDIR.
install_rc_script()
{
	target="$DESTDIR$PREFIX/etc/rc.d/vmstated"
	path_extra=":$BINDIR"
	case "$BINDIR" in
	/usr/local/bin|/usr/local/sbin) path_extra= ;;
	esac
	generated=$(mktemp "${TMPDIR:-/tmp}/vmstated-rc.XXXXXX")
	sed -e "s|^command=\"/usr/local/bin/vmstated\"|command=\"$BINDIR/vmstated\"|" \
	    -e "s|^: \${vmstated_config:=\"/usr/local/etc/vmstated\"}|: \${vmstated_config:=\"$PREFIX/etc/vmstated\"}|" \
	    -e "s|^PATH=\"\${PATH}:/usr/local/sbin:/usr/local/bin\"|PATH=\"\${PATH}:/usr/local/sbin:/usr/local/bin$path_extra\"|" \
	    "$SRC/rc.d/vmstated" > "$generated"
	# The lines rewritten above must all be there: fail rather than install
	# a script that runs the wrong program.
	for line in "command=\"$BINDIR/vmstated\"" \
	    ": \${vmstated_config:=\"$PREFIX/etc/vmstated\"}" \
	    "PATH=\"\${PATH}:/usr/local/sbin:/usr/local/bin$path_extra\""; do
		if ! grep -qxF "$line" "$generated"; then
			rm -f "$generated"
			echo "install-system: rc.d/vmstated has no line $line" >&2
			exit 1
		fi
	done
	put_file 555 "$generated" "$target"
	rm -f "$generated"
}

# The alert rules for Prometheus, for its rule_files, and a Grafana dashboard
# (see METRICS in vmstated(8)); replaced at every install, like the manuals:
# copy a file elsewhere to change it.
install_alert_rules()
{
	put_file 444 "$SRC/etc/prometheus/vmstated.rules.yml" "$DESTDIR$PREFIX/share/vmstated/prometheus/vmstated.rules.yml"
	put_file 444 "$SRC/etc/prometheus/vmstated.grafana.json" "$DESTDIR$PREFIX/share/vmstated/prometheus/vmstated.grafana.json"
}

install_manuals()
{
	put_file 444 "$SRC/man/vmstated.8" "$DESTDIR$PREFIX/share/man/man8/vmstated.8"
	put_file 444 "$SRC/man/vmstatedctl.1" "$DESTDIR$PREFIX/share/man/man1/vmstatedctl.1"
}

# The newsyslog entry, the way pkg(8) installs a sample config: the shipped
# entry is always vmstated.conf.sample; vmstated.conf is created from it when
# missing and updated when it is still the previous sample, but an entry the
# admin changed is kept.
install_newsyslog_entry()
{
	new="$SRC/etc/newsyslog.conf.d/vmstated.conf"
	conf="$DESTDIR$PREFIX/etc/newsyslog.conf.d/vmstated.conf"
	sample="$conf.sample"
	if [ ! -e "$conf" ]; then
		put_file 644 "$new" "$conf"
	elif cmp -s "$conf" "$new"; then
		say "unchanged $conf"
	elif [ -e "$sample" ] && cmp -s "$conf" "$sample"; then
		put_file 644 "$new" "$conf"
	else
		say "kept      $conf: it was changed; compare it with $sample"
	fi
	put_file 644 "$new" "$sample"
}

install_rc_script
install_manuals
install_newsyslog_entry
install_alert_rules
make_dir 755 "$DESTDIR$PREFIX/etc/vmstated"
make_dir 750 "$DESTDIR$LOGDIR"

if [ -z "$DESTDIR" ] && command -v makewhatis >/dev/null 2>&1; then
	makewhatis "$PREFIX/share/man" || true
fi

say ""
say "Next steps:"
if [ -z "$DESTDIR" ] && [ ! -x "$BINDIR/vmstated" ]; then
	say "  - $BINDIR/vmstated is missing: install vmstated with npm (npm install -g),"
	say "    or set vmstated_program in rc.conf to where it is"
fi
say "  - sysrc vmstated_enable=YES"
say "  - put one directory per VM in $PREFIX/etc/vmstated (see vmstated(8), EXAMPLES)"
say "  - service vmstated start"
say "  - allow time for the VMs to power off at shutdown: see rcshutdown_timeout in vmstated(8)"

#!/bin/bash
# Xen tier, step 1: everything needed to boot a real Xen 4.17 host under QEMU,
# built from Debian 12 packages into a work directory (the download cache
# survives between runs).  Sourced by run.sh, which sets:
#   WORK         work directory (e.g. $RRDD_BUILD/xen-tier)
#   HERE         tests/xen
#   BINS         host binaries to put in dom0's /usr/local/bin (with their libs)
# and provides skip() / die().  Produces:
#   $WORK/img/xen           the hypervisor (ELF32 multiboot image, for -kernel)
#   $WORK/img/vmlinuz       Debian's kernel (dom0 and domUs)
#   $WORK/img/dom0.cpio.gz  dom0 initramfs (busybox, Xen tools, modules, the
#                           project binaries, the tier's init and checks,
#                           the domU initramfs)
# Host packages come from apt-get install; guest packages are only
# `apt-get download`ed into $WORK/debs and unpacked with dpkg-deb -x, never
# installed.  Must not touch anything outside $WORK besides installing host
# packages.

HOST_PKGS=(qemu-system-x86 busybox-static cpio curl)

prep_host_packages() {
	local need=() p
	for p in "${HOST_PKGS[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		skip "host packages missing (${need[*]}) and not root to apt-get install them"
	fi
	echo "xen tier: installing host packages: ${need[*]}"
	apt-get update -qq >/dev/null 2>&1 || true
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${need[@]}" >"$WORK/apt-install.log" 2>&1; then
		tail -5 "$WORK/apt-install.log"
		skip "cannot install host packages (${need[*]}): see $WORK/apt-install.log"
	fi
}

# Candidate version of a package, or empty when apt does not know it.
pkg_version() {
	apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -1
}

# The .deb file name apt-get download gives a package (':' escaped as %3a).
deb_name() {
	local v=${2//:/%3a}
	echo "${1}_${v}_amd64.deb"
}

prep_guest_packages() {
	local kver
	kver=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\(.*-amd64\)$/\1/p' | head -1)
	if [ -z "$kver" ] || [ -z "$(pkg_version xen-hypervisor-4.17-amd64)" ]; then
		apt-get update -qq >/dev/null 2>&1 || true
		kver=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/.*Depends: linux-image-\(.*-amd64\)$/\1/p' | head -1)
	fi
	[ -n "$kver" ] || skip "apt cannot resolve linux-image-amd64 (no Debian package lists?)"
	GUEST_PKGS=(xen-hypervisor-4.17-amd64 "linux-image-$kver" xen-utils-4.17 xen-utils-common
		xenstore-utils libyajl2 libxenmisc4.17 libxencall1 libxenevtchn1
		libxenforeignmemory1 libxengnttab1 libxenstore4 libxentoollog1
		libxentoolcore1 libxendevicemodel1 libxenhypfs1)
	mkdir -p "$WORK/debs"
	local missing=() want=() p v f
	for p in "${GUEST_PKGS[@]}"; do
		v=$(pkg_version "$p")
		[ -n "$v" ] || skip "apt does not know guest package $p"
		f=$(deb_name "$p" "$v")
		want+=("$f")
		[ -s "$WORK/debs/$f" ] || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "xen tier: downloading ${#missing[@]} guest package(s) into $WORK/debs"
		if ! (cd "$WORK/debs" && apt-get download -qq "${missing[@]}" >"$WORK/apt-download.log" 2>&1); then
			apt-get update -qq >/dev/null 2>&1 || true
			(cd "$WORK/debs" && apt-get download -qq "${missing[@]}" >"$WORK/apt-download.log" 2>&1) ||
				skip "cannot download guest packages (${missing[*]}): see $WORK/apt-download.log"
		fi
	fi
	# unpack once per set of package versions
	local stamp="${want[*]}"
	if [ "$(cat "$WORK/pkgroot.stamp" 2>/dev/null)" != "$stamp" ]; then
		rm -rf "$WORK/pkgroot"
		mkdir -p "$WORK/pkgroot"
		for f in "${want[@]}"; do
			dpkg-deb -x "$WORK/debs/$f" "$WORK/pkgroot" || die "dpkg-deb -x $f failed"
		done
		echo "$stamp" >"$WORK/pkgroot.stamp"
	fi
	PKG=$WORK/pkgroot
	MODDIR=$(ls -d "$PKG"/lib/modules/*/ | head -1)
	MODDIR=${MODDIR%/}
	KMODVER=$(basename "$MODDIR")
	XEN_VERSION=$(pkg_version xen-hypervisor-4.17-amd64)
}

# Copy an ELF and the shared libraries it needs (resolved on the host; the
# unpacked guest libraries win, so dom0 carries the hypervisor's own
# version of libxenctrl and friends).  $1 root, $2 source, $3 path in root.
copy_elf() {
	local R=$1 src=$2 dst=$3 lib base
	mkdir -p "$R$(dirname "$dst")"
	cp -L "$src" "$R$dst"
	LD_LIBRARY_PATH="$PKG/usr/lib/x86_64-linux-gnu" ldd "$src" |
		awk '/=>/ {print $3} /^\t\/lib64/ {print $1}' |
		while read -r lib; do
			[ -e "$lib" ] || continue
			base=$(basename "$lib")
			[ -e "$R/lib/x86_64-linux-gnu/$base" ] && continue
			cp -L "$lib" "$R/lib/x86_64-linux-gnu/$base"
		done
}

# A busybox root with every applet linked.  $1 root.
busybox_root() {
	local R=$1 a
	rm -rf "$R"
	mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,run,tmp,etc,root,var,lib64,lib/x86_64-linux-gnu,lib/modules}
	cp /bin/busybox "$R/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		[ -e "$R/$a" ] || ln -s /bin/busybox "$R/$a"
	done
}

# Copy kernel modules and their dependencies into $1/lib/modules, and write
# $1/lib/modules/load-order: one file a line, dependencies first, for
# busybox insmod.  Dependencies come from each module's own "depends=" tag
# (the package ships no modules.dep and the host may have no depmod).
# $2.. module names; names the kernel has built in are skipped.
copy_modules() {
	local R=$1
	shift
	local index="$WORK/modules.index" order=() seen=" " m base
	if [ ! -s "$index" ] || [ "$index" -ot "$WORK/pkgroot.stamp" ]; then
		(cd "$MODDIR" && find kernel -name '*.ko*') |
			awk '{ n = $0; sub(/.*\//, "", n); sub(/\.ko.*/, "", n); gsub(/-/, "_", n); print n, $0 }' >"$index"
	fi
	resolve() { # depth-first: dependencies before the module
		local key path d deps
		key=$(echo "$1" | tr - _)
		path=$(awk -v k="$key" '$1 == k { print $2; exit }' "$index")
		[ -n "$path" ] || return 0 # built into the kernel
		case "$seen" in *" $path "*) return 0 ;; esac
		seen+="$path "
		deps=$(mod_cat "$MODDIR/$path" | grep -a -o 'depends=[A-Za-z0-9_,-]*' | head -1)
		for d in $(echo "${deps#depends=}" | tr , ' '); do
			resolve "$d"
		done
		order+=("$path")
	}
	for m in "$@"; do resolve "$m"; done
	: >"$R/lib/modules/load-order"
	for m in "${order[@]}"; do
		base=$(basename "$m")
		base=${base%%.ko*}.ko
		mod_cat "$MODDIR/$m" >"$R/lib/modules/$base"
		echo "$base" >>"$R/lib/modules/load-order"
	done
}

mod_cat() { # a module file, decompressed
	case "$1" in
	*.ko.xz) xz -dc "$1" ;;
	*.ko.zst) zstd -qdc "$1" ;;
	*) cat "$1" ;;
	esac
}

cpio_gz() { # $1 root dir, $2 output
	(cd "$1" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -1) >"$2"
}

prep_images() {
	local IMG=$WORK/img
	mkdir -p "$IMG"
	zcat "$PKG/boot/xen-4.17-amd64.gz" >"$IMG/xen"
	cp "$PKG/boot/vmlinuz-$KMODVER" "$IMG/vmlinuz"

	# ---- domU initramfs: busybox, the block and net front ends ----
	local U=$WORK/domU-root
	busybox_root "$U"
	copy_modules "$U" xen-netfront xen-blkfront
	cp "$HERE/domU-init.sh" "$U/init"
	chmod +x "$U/init"
	cpio_gz "$U" "$IMG/domU.cpio.gz"

	# ---- dom0 initramfs ----
	local R=$WORK/dom0-root b XB=/usr/lib/xen-4.17/bin
	busybox_root "$R"
	for b in xl xenstored xenconsoled xen-init-dom0 xenstore-control; do
		copy_elf "$R" "$PKG$XB/$b" "$XB/$b"
		ln -sf "$XB/$b" "$R/usr/sbin/$b"
	done
	for b in xenstore-ls xenstore-read xenstore-write xenstore-list xenstore-exists xenstore-rm; do
		[ -e "$PKG/usr/bin/$b" ] && copy_elf "$R" "$PKG/usr/bin/$b" "/usr/bin/$b"
	done
	for b in $BINS; do
		copy_elf "$R" "$b" "/usr/local/bin/$(basename "$b")"
	done
	# the ELF interpreter path every dynamic binary names
	ln -sf /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/lib64/ld-linux-x86-64.so.2"
	# glibc dlopen()s libgcc_s for pthread_cancel (libxl): ldd does not show it
	cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$R/lib/x86_64-linux-gnu/"
	# Open vSwitch, as XCP-ng's dom0 bridges VIFs: the guest kernel's
	# module, the host's (Debian's openvswitch-switch) daemons and schema
	local ovs=""
	if [ -x /usr/sbin/ovs-vswitchd ] && [ -x /usr/sbin/ovsdb-server ] &&
		[ -f /usr/share/openvswitch/vswitch.ovsschema ]; then
		# crc32c first: libcrc32c only soft-depends on it (modprobe's
		# "softdep"), and its init fails without it
		ovs="crc32c_generic openvswitch"
	fi
	copy_modules "$R" xen-evtchn xen-privcmd xen-gntdev xen-gntalloc xenfs \
		xen-netback xen-blkback bridge loop $ovs
	if [ -n "$ovs" ]; then
		for b in /usr/sbin/ovs-vswitchd /usr/sbin/ovsdb-server /usr/bin/ovs-vsctl /usr/bin/ovsdb-tool /usr/bin/ovs-appctl; do
			copy_elf "$R" "$b" "$b"
		done
		mkdir -p "$R/usr/share/openvswitch"
		cp /usr/share/openvswitch/vswitch.ovsschema "$R/usr/share/openvswitch/"
	else
		echo "xen tier: no Open vSwitch on this host (openvswitch-switch): xenbr0 will be a Linux bridge"
	fi
	mkdir -p "$R"/{etc/xen/scripts,var/lib/xen,var/log/xen,var/lock,root/guest}
	cp "$PKG/etc/xen/xl.conf" "$R/etc/xen/xl.conf"
	ln -sfn /run "$R/var/run"
	cp "$IMG/vmlinuz" "$R/root/guest/vmlinuz"
	cp "$IMG/domU.cpio.gz" "$R/root/guest/domU.cpio.gz"
	install -m 755 "$HERE/hotplug-vif.sh" "$R/etc/xen/scripts/tier-vif"
	install -m 755 "$HERE/hotplug-block.sh" "$R/etc/xen/scripts/tier-block"
	install -m 755 "$HERE/dom0-init.sh" "$R/init"
	install -m 755 "$HERE/checks.sh" "$R/usr/local/bin/tier-checks"
	if [ -f "$HERE/daemon-checks.sh" ]; then
		install -m 755 "$HERE/daemon-checks.sh" "$R/usr/local/bin/tier-daemon-checks"
	fi
	echo "$XEN_VERSION" >"$R/etc/tier-xen-version"
	cpio_gz "$R" "$IMG/dom0.cpio.gz"
}

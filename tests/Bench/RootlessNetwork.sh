#!/bin/bash
# Measures the two user-mode network tools rootless containers can use, slirp4netns and pasta, as an ordinary user
# (run it as one: runuser -u <user> -- bash tests/Bench/RootlessNetwork.sh), each for the network namespace of a user
# namespace, as a rootless container has: set-up (start to configured); a published port (host 127.0.0.1 -> the
# namespace): N sequential HTTP requests (connection set-up) and one download of a MB MiB file (throughput); outbound
# to the host's loopback (the namespace -> a server on the host's 127.0.0.1 through the tool's gateway): the same two.
# Only loopback and the namespace carry traffic. Needs busybox-static, curl, slirp4netns, passt.
set -u
N=${N:-200}
MB=${MB:-256}
BB=/bin/busybox
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dd if=/dev/zero of=$work/big bs=1M count=$MB 2>/dev/null
echo ok > $work/index.html
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
inns() { nsenter -U -n -t $child --preserve-credentials "$@"; }

run_tool() {
    local tool=$1 port=$2 hport=$3
    unshare -Urn sh -c "$BB ip link set lo up; exec $BB httpd -f -p 80 -h $work" &
    ns=$!
    sleep 0.5
    child=$ns
    local t0=$(now) t1 helper="" gw
    if [ $tool = slirp4netns ]; then
        slirp4netns --configure --mtu=65520 --api-socket $work/api.sock --ready-fd=8 $child tap0 8>$work/ready >/dev/null 2>&1 &
        helper=$!
        while [ ! -s $work/ready ]; do sleep 0.001; done
        t1=$(now)
        printf '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":%s,"guest_port":80}}' $port | $BB nc local:$work/api.sock >/dev/null 2>&1 \
          || printf '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":%s,"guest_port":80}}' $port | python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect('$work/api.sock'); s.sendall(sys.stdin.buffer.read()); s.shutdown(1); s.recv(4096)"
        gw=10.0.2.2
    else
        timeout 20 pasta --config-net -P $work/pasta.pid -t 127.0.0.1/$port:80 -u none -T none -U none $child >/dev/null 2>&1
        t1=$(now)
        helper=$(cat $work/pasta.pid 2>/dev/null)
        gw=$(inns $BB ip route | $BB awk '/default/{print $3}')
    fi
    echo "$tool setup_ms=$(ms $t0 $t1)"
    sleep 0.3
    t0=$(now); for i in $(seq $N); do curl -s -o /dev/null http://127.0.0.1:$port/index.html; done; t1=$(now)
    echo "$tool published_port requests=$N total_ms=$(ms $t0 $t1)"
    t0=$(now); curl -s -o /dev/null http://127.0.0.1:$port/big; t1=$(now)
    echo "$tool published_port download_MiB=$MB ms=$(ms $t0 $t1)"
    $BB httpd -f -p 127.0.0.1:$hport -h $work & local hs=$!
    sleep 0.3
    t0=$(now); inns sh -c "for i in \$(seq $N); do $BB wget -q -O /dev/null http://$gw:$hport/index.html; done"; t1=$(now)
    echo "$tool outbound requests=$N total_ms=$(ms $t0 $t1) via=$gw"
    t0=$(now); inns $BB wget -q -O /dev/null http://$gw:$hport/big; t1=$(now)
    echo "$tool outbound download_MiB=$MB ms=$(ms $t0 $t1)"
    kill $hs 2>/dev/null
    [ -n "$helper" ] && kill $helper 2>/dev/null
    kill $ns 2>/dev/null; wait 2>/dev/null
    rm -f $work/ready $work/api.sock $work/pasta.pid
}
run_tool slirp4netns 23080 23090
run_tool pasta 24080 24090

package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// fdKinds sorts a process's open descriptors by what they lead to, so
// that a growth in descriptors can be told apart: TCP sockets by the port
// of their other end or of their listener (peers maps a port to a name:
// "clients" for the instance's own listener, "postgres", "redis",
// "upstream"), "tcp other" for the rest, and "files" for everything that
// is not a TCP socket (files, pipes, epoll, other sockets).
func fdKinds(pid int, peers map[int]string) (map[string]int, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	ents, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return nil, err
	}
	socks := map[string][2]int{} // inode → local, remote port
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		readTCP(filepath.Join(dir, f), socks)
	}
	out := map[string]int{}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, "fd", e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		inode, ok := strings.CutPrefix(target, "socket:[")
		if !ok {
			out["files"]++
			continue
		}
		ports, ok := socks[strings.TrimSuffix(inode, "]")]
		if !ok {
			out["files"]++
			continue
		}
		out[portKind(ports, peers)]++
	}
	return out, nil
}

// portKind names a TCP socket by its remote port, or by its local port
// for the instance's own listener and accepted connections.
func portKind(ports [2]int, peers map[int]string) string {
	if k, ok := peers[ports[1]]; ok && k != "clients" {
		return k
	}
	if k, ok := peers[ports[0]]; ok && k == "clients" {
		return k
	}
	return "tcp other"
}

// readTCP adds the sockets of a /proc/net/tcp table to socks: inode →
// local and remote port. An unreadable table adds nothing.
func readTCP(path string, socks map[string][2]int) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fs := strings.Fields(sc.Text())
		if len(fs) < 10 {
			continue
		}
		socks[fs[9]] = [2]int{hexPort(fs[1]), hexPort(fs[2])}
	}
}

// hexPort reads the port of "0100007F:1F90".
func hexPort(addr string) int {
	_, p, ok := strings.Cut(addr, ":")
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return 0
	}
	return int(n)
}

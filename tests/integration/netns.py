"""Two network namespaces, server and client, joined by a veth pair with
TEST-NET addresses: the test hosts of the integration tests and of the
benchmarks (tools/bench). Traffic between them never leaves the machine."""
import os
import signal
import subprocess

SERVER_V4, CLIENT_V4 = "198.51.100.1", "198.51.100.2"
SERVER_V6, CLIENT_V6 = "2001:db8:100::1", "2001:db8:100::2"


def run(*cmd, check=True, **kw):
    return subprocess.run([str(c) for c in cmd], check=check, capture_output=True, text=True, **kw)


class VethPair:
    def __init__(self, prefix, tag):
        self.server = f"{prefix}s{tag}"
        self.client = f"{prefix}c{tag}"
        self.devices = (f"{prefix}v0", f"{prefix}v1")

    def create(self):
        for ns in (self.server, self.client):
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "link", "add", self.devices[0], "netns", self.server, "type", "veth",
            "peer", "name", self.devices[1], "netns", self.client)
        for ns, dev, v4, v6 in ((self.server, self.devices[0], SERVER_V4, SERVER_V6),
                                (self.client, self.devices[1], CLIENT_V4, CLIENT_V6)):
            run("ip", "-n", ns, "addr", "add", f"{v4}/24", "dev", dev)
            run("ip", "-n", ns, "addr", "add", f"{v6}/64", "dev", dev, "nodad")
            run("ip", "-n", ns, "link", "set", dev, "up")

    def destroy(self):
        """Kills what runs in the namespaces and removes them (the veth goes with them)."""
        for ns in (self.server, self.client):
            for pid in run("ip", "netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            run("ip", "netns", "del", ns, check=False)

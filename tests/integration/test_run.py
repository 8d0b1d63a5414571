"""The daemon: Prometheus textfile (promtool, a real node_exporter), JSON
alerts from harvester-shaped traffic, reload, locking and failing outputs."""
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
import uuid

from conftest import EGRESSWATCH, PYTHON, SERVER_V4, json_lines, run, wait_for

CLIENT = """
import http.client, json, ssl, sys, threading
ctx = ssl.create_default_context(cadata=sys.argv[1])
keys, threads, per_thread, pause = sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
def worker(t):
    c = http.client.HTTPSConnection("api.openai.com", 443, context=ctx)
    for i in range(per_thread):
        c.request("POST", "/v1/chat/completions", body=json.dumps({"stream": True,
                  "stream_options": {"include_usage": True}}),
                  headers={"authorization": "Bearer " + keys[(t + i) % len(keys)]})
        r = c.getresponse(); r.read(); assert r.status == 200
        if pause:
            import time; time.sleep(pause)
    c.close()
ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
[t.start() for t in ts]; [t.join() for t in ts]
"""


def llm_client(netns, procs, pki, keys, threads, per_thread, pause=0.0):
    return procs.start("ip", "netns", "exec", netns.client, PYTHON, "-c", CLIENT,
                       (pki / "ca.pem").read_text(), ",".join(keys), str(threads),
                       str(per_thread), str(pause), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(p, timeout=120):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err.decode()


class Daemon:
    def __init__(self, procs, tmp_path, config, *args):
        self.dir = tmp_path / "textfile"
        self.dir.mkdir(exist_ok=True)
        self.alerts = tmp_path / "alerts.jsonl"
        self.config = tmp_path / "egresswatch.conf"
        self.config.write_text(config)
        os.chmod(self.config, 0o600)
        self.stderr_path = tmp_path / "daemon.stderr"
        self.proc = procs.start(str(EGRESSWATCH), "--config", str(self.config), "run", *args,
                                stdout=subprocess.DEVNULL, stderr=open(self.stderr_path, "w"))
        wait_for(lambda: "watching" in self.stderr() or self.proc.poll() is not None, 20,
                 "the daemon to start")
        assert self.proc.poll() is None, self.stderr()

    def stderr(self):
        return self.stderr_path.read_text()

    def prom(self):
        path = self.dir / "egresswatch.prom"
        return path.read_text() if path.exists() else ""

    def alert_lines(self):
        return json_lines(self.alerts)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=20)


def config(tmp_path, detect="", general=""):
    return (f"[general]\ninterval = 0.5\ntextfile_dir = {tmp_path / 'textfile'}\n"
            f"alerts = {tmp_path / 'alerts.jsonl'}\n{general}\n[detect]\n{detect}")


def metric(text, name, **labels):
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
        if line.startswith(name + " ") and not labels:
            return float(line.rsplit(" ", 1)[1])
    return None


def test_textfile_promtool_and_node_exporter(netns, procs, llm_server, dns_server, pki, tmp_path):
    srv = llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    d = Daemon(procs, tmp_path, config(tmp_path))
    torn = []
    stop = threading.Event()

    def reader():  # the file must never be seen half-written
        while not stop.is_set():
            text = d.prom()
            if text and not text.rstrip().splitlines()[-1].startswith(
                    "egresswatch_last_update_timestamp_seconds"):
                torn.append(text)
    t = threading.Thread(target=reader)
    t.start()
    p = llm_client(netns, procs, pki, ["sk-a", "sk-b"], 2, 10)
    finish(p)
    records = wait_for(lambda: len(srv.records()) == 20 and srv.records(), 10, "20 requests")
    tokens = sum(r["output_tokens"] for r in records)
    wait_for(lambda: metric(d.prom(), "egresswatch_llm_requests_total", provider="openai") == 20
             and metric(d.prom(), "egresswatch_llm_output_tokens_total", provider="openai") == tokens,
             10, "the requests and tokens in the textfile")
    stop.set()
    t.join()
    assert not torn
    text = d.prom()
    assert metric(text, "egresswatch_llm_output_tokens_total", provider="openai",
                  host="api.openai.com", comm="python3") == tokens
    assert metric(text, "egresswatch_llm_connections_opened_total", provider="openai") == 2
    assert metric(text, "egresswatch_llm_rx_bytes_total", provider="openai") > 0
    assert metric(text, "egresswatch_build_info", version=run(str(EGRESSWATCH), "--version")
                  .stdout.split()[1]) == 1
    assert oct((d.dir / "egresswatch.prom").stat().st_mode & 0o777) == "0o644"
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    # a real node_exporter serves the file on loopback
    with socket.socket() as probe:  # a free port, so no other exporter answers
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    procs.start("prometheus-node-exporter", "--collector.disable-defaults",
                "--collector.textfile", f"--collector.textfile.directory={d.dir}",
                f"--web.listen-address=127.0.0.1:{port}",
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def scrape():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
        except OSError:
            return None
    served = wait_for(scrape, 15, "node_exporter")
    assert str(d.dir / "egresswatch.prom") in served  # node_textfile_mtime_seconds names our file
    assert metric(served, "node_textfile_scrape_error") == 0
    assert metric(served, "egresswatch_llm_requests_total", provider="openai") == 20, served
    assert d.stop() == 0


def test_harvester_alerts_then_resolves_and_normal_use_does_not(netns, procs, llm_server, server,
                                                               dns_server, pki, tmp_path):
    llm_server()
    server("tls", port=8443)
    dns_server({"api.openai.com": SERVER_V4})
    d = Daemon(procs, tmp_path, config(tmp_path, "window = 6\nrequests_warning = 40\n"
                                       "api_keys_warning = 3\nconnections_warning = 6\n"
                                       "rx_bytes_warning = 20000000\n"
                                       "output_tokens_warning = 1000000000\n"))
    interactive = llm_client(netns, procs, pki, ["sk-dev"], 1, 3, pause=1.5)
    finish(interactive)
    # a large download from a name outside the catalog is no LLM traffic
    download = procs.start("ip", "netns", "exec", netns.client, "curl", "-sS", "-o", "/dev/null",
                           "--resolve", f"cdn.example.net:8443:{SERVER_V4}",
                           "https://cdn.example.net:8443/bytes/60000000",
                           env=dict(os.environ, CURL_CA_BUNDLE=str(pki / "ca.pem")),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finish(download)
    time.sleep(1)
    assert d.alert_lines() == []
    harvester = llm_client(netns, procs, pki, [f"sk-h{i}" for i in range(5)], 8, 15)
    started = time.monotonic()
    finish(harvester)
    lines = wait_for(lambda: {(a["rule"], a["fields"]["level"]) for a in d.alert_lines()
                              if a["state"] == "firing"} >=
                     {("llm_request_rate", "process"), ("llm_key_rotation", "process"),
                      ("llm_concurrency", "process"), ("llm_request_rate", "host")}
                     and d.alert_lines(), 6 + 1, "the harvester's alerts")
    assert time.monotonic() - started < 30
    a = next(a for a in lines if a["rule"] == "llm_request_rate" and a["fields"]["level"] == "process")
    assert a["fields"]["pid"] == harvester.pid and a["fields"]["comm"] == "python3"
    assert a["fields"]["provider"] == "openai" and a["fields"]["host"] == "api.openai.com"
    assert a["fields"]["requests"] >= 40 and a["severity"] in ("warning", "critical")
    assert str(harvester.pid) in a["output"] and "\n" not in a["output"]
    assert not [a for a in lines if a["fields"].get("pid") == interactive.pid]
    # the textfile is written after the alerts, in the same refresh
    wait_for(lambda: metric(d.prom(), "egresswatch_alert_active", rule="llm_request_rate") == 1, 3,
             "the firing alert in the textfile")
    # after the traffic stops, every firing alert resolves
    def resolved():
        firing = {}
        for a in d.alert_lines():
            key = (a["rule"], a["severity"], a["fields"]["level"], a["fields"].get("pid"))
            firing[key] = a["state"] == "firing"
        return not any(firing.values())
    wait_for(resolved, 6 + 5, "the alerts to resolve")
    assert d.stop() == 0


def test_workers_under_thresholds_add_up_at_workload_level(netns, procs, llm_server, dns_server,
                                                           pki, tmp_path):
    llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    d = Daemon(procs, tmp_path, config(tmp_path, "window = 8\nrequests_warning = 30\n"))
    workers = [llm_client(netns, procs, pki, ["sk-w"], 1, 8) for _ in range(6)]
    for w in workers:
        finish(w)
    lines = wait_for(lambda: [a for a in d.alert_lines() if a["rule"] == "llm_request_rate"
                              and a["fields"]["level"] == "workload"], 10, "a workload alert")
    assert lines[0]["fields"]["processes"] >= 4
    assert not [a for a in d.alert_lines() if a["rule"] == "llm_request_rate"
                and a["fields"]["level"] == "process"]
    assert d.stop() == 0


def test_reload_second_instance_and_failing_outputs(procs, tmp_path):
    d = Daemon(procs, tmp_path, config(tmp_path))
    wait_for(d.prom, 10, "the first textfile")
    # a second instance against the same textfile is refused
    r = run(str(EGRESSWATCH), "run", "--textfile-dir", str(d.dir), "--interval", "0.5", check=False)
    assert r.returncode == 1 and "already writing" in r.stderr
    # a bad configuration is refused on SIGHUP; the daemon goes on
    d.config.write_text("[general]\ninterval = 0.5\nbogus = 1\n")
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload refused" in d.stderr(), 10, "the refusal")
    assert f"{d.config}:3: unknown key 'bogus'" in d.stderr()
    assert d.proc.poll() is None
    d.config.write_text(config(tmp_path, "requests_warning = 7\n"))
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in d.stderr(), 10, "the reload")
    # a full textfile directory: a clear error, no partial file, then recovery
    run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(d.dir))
    try:
        filler = d.dir / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k", "count=64"],
                       capture_output=True)
        wait_for(lambda: "cannot write" in d.stderr(), 10, "the write error")
        # whatever is there is a whole file written before the disk filled
        text = d.prom()
        assert not text or text.rstrip().splitlines()[-1].startswith(
            "egresswatch_last_update_timestamp_seconds")
        assert not (d.dir / ".egresswatch.prom.tmp").exists()
        filler.unlink()
        wait_for(lambda: "writing" in d.stderr() and d.prom(), 10, "the recovery")
        assert d.proc.poll() is None
    finally:
        run("umount", str(d.dir), check=False)
    assert d.stop() == 0


def test_no_secret_in_any_output(netns, procs, llm_server, dns_server, pki, tmp_path):
    llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    d = Daemon(procs, tmp_path, config(tmp_path, "requests_warning = 2\napi_keys_warning = 1\n"))
    key = f"sk-planted-{uuid.uuid4().hex}"
    p = llm_client(netns, procs, pki, [key], 1, 5)
    finish(p)
    wait_for(lambda: d.alert_lines(), 10, "an alert")
    wait_for(lambda: metric(d.prom(), "egresswatch_llm_requests_total", provider="openai") == 5, 10,
             "the textfile")
    assert d.stop() == 0
    for path in [d.alerts, d.dir / "egresswatch.prom", d.stderr_path]:
        text = path.read_text()
        assert key not in text and key[11:27] not in text, path
    assert oct(d.alerts.stat().st_mode & 0o777) == "0o600"


def test_alerts_without_an_alert_destination(netns, procs, llm_server, dns_server, pki, tmp_path):
    """Textfile only: a firing rule shows in egresswatch_alert_active, no line is written."""
    llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    cfg = config(tmp_path, "requests_warning = 3\n").replace(
        f"alerts = {tmp_path / 'alerts.jsonl'}\n", "")
    d = Daemon(procs, tmp_path, cfg)
    finish(llm_client(netns, procs, pki, ["sk-1"], 1, 6))
    wait_for(lambda: metric(d.prom(), "egresswatch_alert_active", rule="llm_request_rate") == 1,
             10, "the firing rule in the textfile")
    assert d.proc.poll() is None and not d.alerts.exists()
    assert d.stop() == 0

"""The interactive view, driven in tmux like a person would: rows with the
right figures, sorting, filtering, details, resize, and a restored terminal."""
import os
import subprocess
import time

from conftest import EGRESSWATCH, PYTHON, SERVER_V4, wait_for
from test_run import finish, llm_client


def tmux(*args):
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def screen(session):
    return tmux("capture-pane", "-p", "-t", session)


def test_interactive_top(netns, procs, llm_server, dns_server, pki):
    llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    session = f"ewtop{os.getpid()}"
    tmux("new-session", "-d", "-s", session, "-x", "132", "-y", "30",
         "env TERM=xterm-256color NO_COLOR=1 bash --norc --noprofile")
    try:
        tmux("send-keys", "-t", session, f"stty -echo; clear; {EGRESSWATCH} top -d 0.5", "Enter")
        wait_for(lambda: "PROVIDER" in screen(session), 20, "the table header")
        p = llm_client(netns, procs, pki, ["sk-a", "sk-b", "sk-c"], 2, 30, pause=0.1)
        row = wait_for(lambda: next((li for li in screen(session).splitlines()
                                     if f"{p.pid} " in li and "openai" in li), None), 20,
                       "the client's row")
        assert "python3" in row and "api.openai.com" in row
        finish(p)
        def keys_column():
            for li in screen(session).splitlines():
                cols = li.split()
                if cols and cols[0] == str(p.pid):
                    return cols[-2] if cols[-1] == "!" else cols[-1]
            return None
        wait_for(lambda: keys_column() == "3", 10, "three distinct keys in the KEYS column")
        # all traffic: the DNS query to the resolver shows up
        tmux("send-keys", "-t", session, "a")
        wait_for(lambda: "198.51.100.53" in screen(session), 10, "non-LLM rows")
        tmux("send-keys", "-t", session, "a")
        wait_for(lambda: "198.51.100.53" not in screen(session), 10, "LLM rows only")
        # sort by requests, then filter out everything
        tmux("send-keys", "-t", session, "3")
        wait_for(lambda: "sort req" in screen(session), 5, "sort by requests")
        tmux("send-keys", "-t", session, "/", "anthropic", "Enter")
        wait_for(lambda: "filter: anthropic" in screen(session) and "api.openai.com"
                 not in screen(session), 5, "the filter")
        tmux("send-keys", "-t", session, "/", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace",
             "BSpace", "BSpace", "BSpace", "BSpace", "Enter")
        wait_for(lambda: "api.openai.com" in screen(session), 5, "the filter cleared")
        # details of the selected process
        tmux("send-keys", "-t", session, "Enter")
        details = wait_for(lambda: "process details" in screen(session) and screen(session), 5,
                           "the details page")
        assert "/usr/bin/python3" in details and "api.openai.com" in details
        tmux("send-keys", "-t", session, "Escape")
        wait_for(lambda: "PROVIDER" in screen(session), 5, "the table again")
        # an ssh-sized terminal
        tmux("resize-window", "-t", session, "-x", "80", "-y", "24")
        wait_for(lambda: all(len(li) <= 80 for li in screen(session).splitlines()) and
                 "egresswatch on" in screen(session), 5, "the redraw at 80x24")
        tmux("send-keys", "-t", session, "?")
        wait_for(lambda: "Any key: back" in screen(session), 5, "help")
        tmux("send-keys", "-t", session, "x")
        tmux("send-keys", "-t", session, "q")
        # the shell is back, in a sane terminal
        tmux("send-keys", "-t", session, "stty -a | grep -o ' icanon'; echo done-$?", "Enter")
        final = wait_for(lambda: "done-0" in screen(session) and screen(session), 10,
                         "the shell prompt")
        assert "PROVIDER" not in final
        assert " icanon" in final
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)

#!/usr/bin/env python3
"""Plays a swarm on this machine and prints partners as they come and go.

A publisher (videotestsrc ! p2psink, with its embedded tracker) and, one
after the other, a few viewers (p2psrc ! fakesink).  The publisher's
session, GstSwarm.Session from the p2psink's "session" property, tells of
each viewer with "peer-added" and "peer-removed"; each line printed is one
of those signals with the partner's GstSwarm.PeerInfo properties.

    python3 docs/examples/swarm-peers.py [--viewers N] [--seconds S]

Needs the GstSwarm-1.0 typelib and the plugins: from a build tree,
    GI_TYPELIB_PATH=build/gst-libs/swarm LD_LIBRARY_PATH=build/gst-libs/swarm \\
    GST_PLUGIN_PATH=build/gst python3 docs/examples/swarm-peers.py
Exits 0 when every viewer was added and removed, was sent bytes and
received segments; 1 otherwise.
"""
import argparse
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSwarm", "1.0")
from gi.repository import GLib, Gst, GstSwarm  # noqa: E402

lock = threading.Lock()
added = {}     # peer id -> role, as the publisher saw them
removed = {}   # peer id -> bytes sent to it


def say(line):
    with lock:
        print(line, flush=True)


def describe(info):
    return ("id=%s role=%s address-kind=%s rtt-ms=%.1f bytes-sent=%d "
            "bytes-received=%d" % (info.props.id, info.props.role,
                                   info.props.address_kind, info.props.rtt_ms,
                                   info.props.bytes_sent,
                                   info.props.bytes_received))


# Emitted on the session's network thread: record and print only.
def on_peer_added(session, info):
    assert isinstance(info, GstSwarm.PeerInfo)
    with lock:
        added[info.props.id] = info.props.role
    say("peer-added %s" % describe(info))


def on_peer_removed(session, info):
    with lock:
        removed[info.props.id] = info.props.bytes_sent
    say("peer-removed %s connected=%s" % (describe(info),
                                          info.props.connected))


def on_session(sink, _pspec):
    session = sink.props.session
    if session is None:
        return
    assert isinstance(session, GstSwarm.Session)
    say("publisher session peer-id=%s role=%s" %
        (session.props.peer_id, session.props.role.value_nick))
    session.connect("peer-added", on_peer_added)
    session.connect("peer-removed", on_peer_removed)


def wait_for(predicate, seconds):
    """Runs the default main context until predicate() or the time is up."""
    ctx = GLib.MainContext.default()
    deadline = GLib.get_monotonic_time() + int(seconds * 1e6)
    while not predicate() and GLib.get_monotonic_time() < deadline:
        ctx.iteration(False)
        GLib.usleep(20000)
    return predicate()


def check_bus(pipeline, name):
    msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    if msg:
        err, debug = msg.parse_error()
        sys.exit("%s: %s (%s)" % (name, err.message, debug))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--viewers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2.0,
                    help="how long each viewer plays")
    args = ap.parse_args()

    Gst.init(None)
    pub = Gst.parse_launch(
        "videotestsrc is-live=true ! "
        "video/x-raw,width=64,height=48,framerate=25/1 ! "
        "p2psink name=sink address=127.0.0.1 port=0")
    sink = pub.get_by_name("sink")
    # before start: the session is set, and this handler runs, before it
    # has any partner
    sink.connect("notify::session", on_session)
    pub.set_state(Gst.State.PLAYING)
    if not wait_for(lambda: sink.props.uri, 10):
        check_bus(pub, "publisher")
        sys.exit("the publisher did not start")
    say("publishing %s" % sink.props.uri)

    viewer_ids = []
    segments = {}  # viewer's peer id -> segments it received
    for n in range(args.viewers):
        view = Gst.parse_launch("p2psrc name=src ! fakesink name=out")
        src = view.get_by_name("src")
        src.props.uri = sink.props.uri
        view.set_state(Gst.State.PLAYING)
        my_id = src.props.session.props.peer_id
        viewer_ids.append(my_id)
        say("viewer %d peer-id=%s" % (n + 1, my_id))
        wait_for(lambda: False, args.seconds)
        check_bus(view, "viewer %d" % (n + 1))
        stats = src.props.stats
        ok, received = stats.get_uint64("segments-received")
        segments[my_id] = received
        say("viewer %d received %d segments" % (n + 1, received))
        view.set_state(Gst.State.NULL)
        wait_for(lambda: my_id in removed, 10)

    pub.set_state(Gst.State.NULL)
    # each viewer seen coming and going as a viewer, sent something, and
    # playing what it got
    missing = [i for i in viewer_ids if i not in added or i not in removed
               or added[i] != "viewer" or removed[i] == 0
               or segments[i] == 0]
    if missing:
        say("not seen added and removed: %s" % " ".join(missing))
        return 1
    say("every viewer was added and removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

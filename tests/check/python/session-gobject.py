#!/usr/bin/env python3
"""GstSwarm.Session made and run from Python with only the typelib: the
configuration as construct-only properties, the signals (peer-added,
peer-removed, error, stats-updated), and configuration errors reported by
start().  No plugin is loaded: two sessions (a publisher with its embedded
tracker, a viewer from the publisher's URI) meet on this machine.

Exits 0 when every check passed; prints what failed otherwise.
"""
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSwarm", "1.0")
from gi.repository import GLib, GObject, Gst, GstSwarm  # noqa: E402

failures = []
lock = threading.Lock()


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with lock:
            if predicate():
                return True
        time.sleep(0.02)
    with lock:
        return predicate()


def check_properties():
    config = ["role", "identity", "uri", "trackers", "tracker-address",
              "tracker-port", "max-peers", "stun", "turn", "join-timeout",
              "stats-interval", "stats-name", "consume-only", "upload-limit",
              "secret", "clock-tolerance", "clock", "network-context",
              "link-factory", "scheduler"]
    specs = {p.name: p for p in GstSwarm.Session.list_properties()}
    for name in config:
        spec = specs.get(name)
        check(spec is not None and
              spec.flags & GObject.ParamFlags.CONSTRUCT_ONLY,
              "property %s is construct-only" % name)
    for name in ("peer-id", "swarm-id", "stats"):
        spec = specs.get(name)
        check(spec is not None and
              not spec.flags & GObject.ParamFlags.WRITABLE,
              "property %s is read-only" % name)
    check(not specs["secret"].flags & GObject.ParamFlags.READABLE,
          "the secret cannot be read back")
    plain = GstSwarm.Session()
    check(plain.props.role == GstSwarm.SessionRole.VIEWER and
          plain.props.max_peers == 8 and
          plain.props.tracker_address == "0.0.0.0" and
          plain.props.stats_name == "swarm-stats",
          "defaults: viewer, max-peers 8, tracker-address 0.0.0.0, "
          "stats-name swarm-stats")
    for name in ("peer-added", "peer-removed", "error", "warning",
                 "stats-updated"):
        check(GObject.signal_lookup(name, GstSwarm.Session) != 0,
              "signal %s" % name)


def start_error(**props):
    session = GstSwarm.Session(**props)
    try:
        session.start()
    except GLib.Error as error:
        return error
    session.stop()
    return None


def check_config_errors():
    settings = GstSwarm.SessionError.SETTINGS
    error = start_error()
    check(error is not None and error.code == settings and
          "identity or its URI" in error.message,
          "no identity: start() fails with SETTINGS (%s)" %
          (error and error.message))
    error = start_error(uri="p2p://127.0.0.1:1/not-a-swarm-id")
    check(error is not None and error.code == settings and
          "swarm" in error.message.lower(),
          "a bad URI: start() fails with SETTINGS and says why (%s)" %
          (error and error.message))
    public_only = GstSwarm.Identity.new_from_public_key(
        GstSwarm.Identity.generate().get_public_key())
    error = start_error(role=GstSwarm.SessionRole.ORIGIN,
                        identity=public_only, tracker_address="127.0.0.1")
    check(error is not None and error.code == settings and
          "private key" in error.message,
          "an origin without the private key: start() fails (%s)" %
          (error and error.message))


def check_swarm():
    events = []

    def record(kind):
        def handler(session, arg):
            with lock:
                events.append((kind, arg))
        return handler

    identity = GstSwarm.Identity.generate()
    origin = GstSwarm.Session(role=GstSwarm.SessionRole.ORIGIN,
                              identity=identity, tracker_address="127.0.0.1",
                              tracker_port=0, stats_interval=100,
                              stats_name="origin-stats", max_peers=3)
    check(origin.props.max_peers == 3 and
          origin.props.swarm_id == identity.get_swarm_id(),
          "origin: properties read back, swarm-id from the identity")
    origin.connect("peer-added", record("added"))
    origin.connect("peer-removed", record("removed"))
    origin.connect("stats-updated",
                   lambda s, st: record("stats")(s, st.get_name()))
    origin.start()
    port = origin.props.tracker_port
    check(port > 0, "origin: the embedded tracker's port is read back (%d)"
          % port)

    uri = "p2p://127.0.0.1:%d/%s" % (port, origin.props.swarm_id)
    viewer = GstSwarm.Session(uri=uri)
    check(viewer.props.trackers == ["ws://127.0.0.1:%d/announce" % port] and
          viewer.props.swarm_id == origin.props.swarm_id,
          "viewer: trackers and swarm from the URI (%s)" %
          viewer.props.trackers)
    viewer_added = []
    viewer.connect("peer-added",
                   lambda s, info: viewer_added.append(info.props.role))
    viewer.start()
    viewer.wait_ready(10000)
    viewer_id = viewer.props.peer_id

    def added():
        return [info for kind, info in events if kind == "added"]

    check(wait_for(lambda: len(added()) == 1, 20),
          "origin: peer-added for the viewer")
    info = added()[0] if added() else None
    check(info is not None and info.props.id == viewer_id and
          info.props.role == "viewer" and info.props.connected,
          "origin: the partner is the viewer, connected (%s)" %
          ((info and (info.props.id, info.props.role)),))
    check(wait_for(lambda: viewer_added == ["origin"], 10),
          "viewer: peer-added for the origin (%s)" % viewer_added)
    check(wait_for(lambda: ("stats", "origin-stats") in events, 5),
          "origin: stats-updated with the stats-name")

    viewer.stop()
    check(wait_for(lambda: any(kind == "removed" and arg.props.id ==
                                viewer_id for kind, arg in events), 10),
          "origin: peer-removed when the viewer stops")
    gone = [arg for kind, arg in events if kind == "removed"]
    check(gone and gone[0] is info and not gone[0].props.connected,
          "origin: peer-removed passes the same object, disconnected")

    # A viewer of a swarm nobody publishes, on the same tracker: the
    # "error" signal names the join timeout.
    errors = []
    nobody = GstSwarm.Identity.generate()
    lonely = GstSwarm.Session(
        identity=GstSwarm.Identity.new_from_public_key(
            nobody.get_public_key()),
        trackers=["ws://127.0.0.1:%d/announce" % port], join_timeout=1000)
    lonely.connect("error", lambda s, e: errors.append((e.domain, e.code)))
    lonely.start()
    check(wait_for(lambda: len(errors) == 1, 10) and
          errors[0] == ("swarm-session-error-quark",
                        int(GstSwarm.SessionError.JOIN_TIMEOUT)),
          "a swarm without publisher: error signal, JOIN_TIMEOUT (%s)"
          % errors)
    lonely.stop()
    origin.stop()


def main():
    Gst.init(None)
    check_properties()
    check_config_errors()
    check_swarm()
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

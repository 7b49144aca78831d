"""The Qt face of Petvisor Desktop: the kiosk, the push-to-talk window and the staff screens.

One `EngineBridge` turns the engine's plain events into Qt signals on the GUI thread; the
widgets only listen to it and send the user's intents back through it. Nothing here calls a
model, the network or `join()` on the GUI thread: such work runs in `ui.workers`."""

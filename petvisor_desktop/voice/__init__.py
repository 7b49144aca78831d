"""The voice path: audio in and out, voice activity, speech to text, text to speech, and the
turn-taking loop that ties them to the booking brain. Every stage sits behind the small
interfaces of `petvisor_desktop.voice.base`."""

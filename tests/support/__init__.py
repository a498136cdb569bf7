"""What the tests share: fixtures' building blocks, the bot run as a child process,
rules files, and Lemmy-shaped JSON helpers (imported as ``support.<module>``)."""

"""The studio's widgets that show the current frame and its data (they read StudioState; they do not open files)."""

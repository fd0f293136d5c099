"""The editor's dialogs: new document, new from photo, batch, training, plugins, about."""

package dev.asyncdiff.api;

import java.nio.file.Path;

/** A model file or folder that should exist does not. The message names the path. */
public class ModelNotFoundException extends AsyncDiffException {
    private static final long serialVersionUID = 1L;
    private final transient Path path;

    public ModelNotFoundException(Path path, String what) {
        super(what + " not found: " + path.toAbsolutePath());
        this.path = path;
    }

    /** The missing path. */
    public Path path() {
        return path;
    }
}

package dev.asyncdiff.api;

import java.nio.file.Path;

/** A model file exists but cannot be read: truncated, corrupt, or not the expected format. */
public class MalformedModelException extends AsyncDiffException {
    private static final long serialVersionUID = 1L;
    private final transient Path path;

    public MalformedModelException(Path path, String problem, Throwable cause) {
        super("malformed model " + path.toAbsolutePath() + ": " + problem, cause);
        this.path = path;
    }

    public MalformedModelException(Path path, String problem) {
        this(path, problem, null);
    }

    /** The offending file. */
    public Path path() {
        return path;
    }
}

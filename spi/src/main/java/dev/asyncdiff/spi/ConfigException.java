package dev.asyncdiff.spi;

import dev.asyncdiff.api.AsyncDiffException;

/**
 * Runtime configuration that cannot be used: a missing or malformed config file, an unknown key, or
 * a bad value; the message names the source (file, environment variable or flag) and what was expected.
 */
public class ConfigException extends AsyncDiffException {
    private static final long serialVersionUID = 1L;

    /** An exception with {@code message}. */
    public ConfigException(String message) {
        super(message);
    }

    /** An exception with {@code message} caused by {@code cause}. */
    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}

package dev.asyncdiff.spi;

/** Discovers an inference backend; {@link #open} is where its native code loads. */
public interface BackendProvider extends Provider {
    /** Opens the backend; the caller must close it. */
    Backend open(BackendOptions options);
}

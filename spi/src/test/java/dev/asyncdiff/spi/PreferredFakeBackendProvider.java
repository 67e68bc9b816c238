package dev.asyncdiff.spi;

/** Test backend provider that shares the name {@code fake} with a higher priority, so it wins. */
public class PreferredFakeBackendProvider extends RecordingBackendProvider {
    @Override
    public int priority() {
        return 5;
    }
}

package dev.asyncdiff.spi;

/** Test backend provider named {@code other}. */
public class OtherBackendProvider extends RecordingBackendProvider {
    @Override
    public String name() {
        return "other";
    }

    @Override
    public String version() {
        return "9.9";
    }
}

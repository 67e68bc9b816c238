package dev.asyncdiff.spi;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Test backend provider named {@code fake} with priority 0; {@link PreferredFakeBackendProvider}
 * shares its name with a higher priority. Records the options every backend was opened with.
 */
public class RecordingBackendProvider implements BackendProvider {
    /** Options passed to {@link #open}, across all instances, in call order. */
    static final List<BackendOptions> OPENED = new CopyOnWriteArrayList<>();

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public Backend open(BackendOptions options) {
        OPENED.add(options);
        return new RecordedBackend(name() + "@" + priority());
    }

    /** A backend that loads nothing; tests only check it was opened and closed. */
    static final class RecordedBackend implements Backend {
        private final String name;
        private boolean closed;

        RecordedBackend(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public InferenceSession load(Path modelFile, Device device) {
            throw new IllegalArgumentException("test backend " + name + " cannot load " + modelFile);
        }

        boolean isClosed() {
            return closed;
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}

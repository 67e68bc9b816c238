package dev.asyncdiff.synthetic;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Locates the project's shared data folder ({@code ../shared} beside the repository): the system
 * property {@code asyncdiff.shared.dir}, else the environment variable {@code ASYNCDIFF_SHARED_DIR},
 * else {@code ../shared} relative to the working directory.
 */
public final class SharedData {
    /** The system property naming the shared folder. */
    public static final String PROPERTY = "asyncdiff.shared.dir";
    /** The environment variable naming the shared folder. */
    public static final String ENVIRONMENT = "ASYNCDIFF_SHARED_DIR";
    /** Where OpenAI's CLIP merges file lies inside the shared folder. */
    public static final String CLIP_MERGES = "data/clip/bpe_simple_vocab_16e6.txt.gz";

    private SharedData() {
    }

    /** The shared folder, when one of the three places names an existing directory. */
    public static Optional<Path> directory() {
        String configured = System.getProperty(PROPERTY);
        if (configured == null || configured.isBlank()) {
            configured = System.getenv(ENVIRONMENT);
        }
        Path candidate = configured == null || configured.isBlank() ? Path.of("..", "shared") : Path.of(configured);
        return Files.isDirectory(candidate) ? Optional.of(candidate.toAbsolutePath().normalize()) : Optional.empty();
    }

    /** OpenAI's {@code bpe_simple_vocab_16e6.txt.gz}, when the shared folder holds it. */
    public static Optional<Path> clipMergesFile() {
        return directory().map(dir -> dir.resolve(CLIP_MERGES)).filter(Files::isRegularFile);
    }
}

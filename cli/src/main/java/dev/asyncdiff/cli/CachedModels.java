package dev.asyncdiff.cli;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import dev.asyncdiff.onnx.graph.CacheLock;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The synthetic model folders commands use when no {@code --model} is given, written once into
 * {@code $ASYNCDIFF_CACHE_DIR/models} (default {@code ~/.cache/asyncdiff/models}) and reused.
 *
 * <p>Runs may share the cache: a folder is written under its {@link CacheLock}, so a second run that needs it
 * waits for the first and reuses its folder instead of failing to rename its own over it.
 */
final class CachedModels {
    /** System property that overrides the cache folder (tests point it at a temporary folder). */
    static final String CACHE_PROPERTY = "asyncdiff.cache.dir";

    private CachedModels() {
    }

    /** The cache root: the system property, else {@code ASYNCDIFF_CACHE_DIR}, else {@code ~/.cache/asyncdiff}. */
    static Path cacheRoot() {
        String property = System.getProperty(CACHE_PROPERTY);
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        String env = System.getenv("ASYNCDIFF_CACHE_DIR");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "asyncdiff");
    }

    /**
     * The cached fp32 folder of {@code family} at {@code scale}, written now if missing, with a notice on
     * {@code err} that its weights are random.
     */
    static Path ensure(Family family, Scale scale, PrintWriter err) {
        String name = family.name().toLowerCase(Locale.ROOT) + "-" + scale.name().toLowerCase(Locale.ROOT);
        Path folder = cacheRoot().resolve("models").resolve(name);
        if (!isComplete(folder)) {
            try (CacheLock lock = CacheLock.acquire(folder, "synthetic model")) {
                if (!isComplete(folder)) {   // another run may have written it while this one waited
                    err.println("asyncdiff: writing the synthetic " + name + " model to " + folder + " (once) …");
                    err.flush();
                    CacheLock.deleteTree(folder);   // complete folders appear by one rename; this is debris
                    SyntheticModels.write(family, scale, DType.FP32, 0, TokenizerKind.defaultKind(), folder);
                }
            } catch (UncheckedIOException e) {
                throw new UncheckedIOException(e.getMessage() + cacheNote(), e.getCause());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage() + cacheNote(), e);
            }
        }
        err.println("asyncdiff: note: using " + folder + ", a synthetic " + name
                + " model with random weights: this is a smoke run, not a picture (pass --model for a real one)");
        err.flush();
        return folder;
    }

    private static boolean isComplete(Path folder) {
        return Files.isRegularFile(folder.resolve(SyntheticModels.MODEL_INDEX));
    }

    /** Where the cache is and how to move it, for the messages of cache errors. */
    static String cacheNote() {
        return " (cache: " + cacheRoot().toAbsolutePath() + "; set ASYNCDIFF_CACHE_DIR to use another folder)";
    }
}

package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/**
 * Synthetic tiny model folders (small byte-level BPE tokenizer, seed 1), written once per build
 * under {@code target/test-models} and shared read-only by the tests; {@link #copy} gives a test
 * its own folder to change.
 */
final class TestModels {
    private static final Path ROOT = Path.of("target", "test-models").toAbsolutePath();

    private TestModels() {
    }

    /** The shared tiny folder of {@code family}; tests must not change it. */
    static synchronized Path tiny(Family family) {
        Path dir = ROOT.resolve(family.cliName() + "-tiny");
        if (!Files.isRegularFile(dir.resolve(SyntheticModels.MODEL_INDEX))) {
            SyntheticModels.write(family, Scale.TINY, DType.FP32, 1, TokenizerKind.BPE, dir);
        }
        return dir;
    }

    /** A copy of the tiny folder of {@code family} at {@code target}, for a test to change. */
    static Path copy(Family family, Path target) {
        Path source = tiny(family);
        try (Stream<Path> paths = Files.walk(source)) {
            for (Path path : paths.toList()) {
                Path destination = target.resolve(source.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(destination);
                } else {
                    Files.copy(path, destination, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return target;
    }
}

package dev.asyncdiff.tck;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/** Synthetic tiny model folders, written once per test JVM into a temporary folder. */
final class SyntheticModelFolders {
    private static final Map<Family, Path> FOLDERS = new EnumMap<>(Family.class);
    private static Path root;

    private SyntheticModelFolders() {
    }

    static synchronized Path tiny(Family family) {
        return FOLDERS.computeIfAbsent(family, f -> {
            try {
                if (root == null) {
                    root = Files.createTempDirectory("asyncdiff-tck");
                    root.toFile().deleteOnExit();
                }
                Path folder = root.resolve(f.name().toLowerCase(java.util.Locale.ROOT));
                SyntheticModels.write(f, Scale.TINY, DType.FP32, 5, TokenizerKind.BPE, folder);
                return folder;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}

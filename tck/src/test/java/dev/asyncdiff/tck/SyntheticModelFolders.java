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
import java.util.Map;

/** Synthetic tiny model folders, written once per test JVM into a temporary folder. */
final class SyntheticModelFolders {
    private static final Map<String, Path> FOLDERS = new java.util.HashMap<>();
    private static Path root;

    private SyntheticModelFolders() {
    }

    static Path tiny(Family family) {
        return tiny(family, DType.FP32);
    }

    static synchronized Path tiny(Family family, DType dtype) {
        String name = (family.name() + "-" + dtype.name()).toLowerCase(java.util.Locale.ROOT);
        return FOLDERS.computeIfAbsent(name, key -> {
            try {
                if (root == null) {
                    root = Files.createTempDirectory("asyncdiff-tck");
                    root.toFile().deleteOnExit();
                }
                Path folder = root.resolve(name);
                SyntheticModels.write(family, Scale.TINY, dtype, 5, TokenizerKind.BPE, folder);
                return folder;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}

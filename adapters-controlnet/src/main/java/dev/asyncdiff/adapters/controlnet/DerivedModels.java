package dev.asyncdiff.adapters.controlnet;

import dev.asyncdiff.onnx.graph.CacheLock;
import dev.asyncdiff.onnx.graph.merge.ControlNetMerge;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Models derived from a folder's graphs (a UNet with ControlNets merged in), written once into the runtime's cache
 * and reused while the graphs they come from keep their files: the key is every file of the source graphs' folders
 * by path, size and modification time, and {@link ControlNetMerge#VERSION}.
 */
final class DerivedModels {
    private static final Logger LOG = LoggerFactory.getLogger(DerivedModels.class);

    private DerivedModels() {
    }

    /**
     * The cached {@code model.onnx} derived from {@code sources} by {@code writer} (which writes the file it is
     * given); written under a lock when absent, so concurrent runs write it once.
     */
    static Path cached(Path cacheDirectory, String kind, List<Path> sources, Consumer<Path> writer) {
        Path entry = cacheDirectory.resolve(kind + "-" + key(kind, sources));
        Path model = entry.resolve("model.onnx");
        if (Files.isRegularFile(model)) {
            return model;
        }
        try (CacheLock lock = CacheLock.acquire(entry, kind)) {
            if (!Files.isRegularFile(model)) {
                LOG.info("writing {} derived from {} to {}", kind, sources, entry);
                Files.createDirectories(entry);
                writer.accept(model);
            }
            return model;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + kind + " into " + entry + ": " + e, e);
        }
    }

    private static String key(String kind, List<Path> sources) {
        StringBuilder text = new StringBuilder(kind).append(" v").append(ControlNetMerge.VERSION).append('\n');
        for (Path source : sources) {
            Path folder = source.toAbsolutePath().normalize().getParent();
            try (Stream<Path> files = Files.list(folder)) {
                for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                    text.append(file).append('|').append(Files.size(file)).append('|')
                            .append(Files.getLastModifiedTime(file).toMillis()).append('\n');
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + folder + ": " + e, e);
            }
            text.append(source.getFileName()).append('\n');
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}

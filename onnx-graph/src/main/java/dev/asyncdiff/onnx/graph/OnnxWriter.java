package dev.asyncdiff.onnx.graph;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Writes an ONNX model: a graph skeleton plus initializers produced one at a time. Initializers
 * that go external are streamed to {@code <model file name>_data} (e.g. {@code model.onnx_data})
 * and referenced by {@code location}/{@code offset}/{@code length}, so at most one initializer's
 * bytes are in memory at once. Files are written under temporary names and moved into place, so a
 * failure never leaves a half-written model.
 */
public final class OnnxWriter {
    /** Initializers smaller than this stay inline even under {@link ExternalDataPolicy#EXTERNAL}. */
    public static final long EXTERNAL_MIN_BYTES = 1024;
    /** Total initializer bytes above which {@link ExternalDataPolicy#AUTO} goes external. */
    public static final long AUTO_EXTERNAL_THRESHOLD = 1L << 30;
    private static final int ALIGNMENT = 64;

    private OnnxWriter() {
    }

    /** The external data file that belongs to {@code modelFile}. */
    public static Path dataFileOf(Path modelFile) {
        return modelFile.resolveSibling(modelFile.getFileName() + "_data");
    }

    /**
     * Writes {@code skeleton} with {@code initializers} appended to its graph to {@code modelFile}.
     *
     * @throws UncheckedIOException naming the file when it cannot be written
     */
    public static void write(ModelProto skeleton, List<Initializer> initializers, Path modelFile,
                             ExternalDataPolicy policy) {
        boolean external = switch (policy) {
            case INLINE -> false;
            case EXTERNAL -> true;
            case AUTO -> initializers.stream().mapToLong(Initializer::byteCount).sum() > AUTO_EXTERNAL_THRESHOLD;
        };
        Path dataFile = dataFileOf(modelFile);
        Path modelTemp = modelFile.resolveSibling(modelFile.getFileName() + ".tmp");
        Path dataTemp = dataFile.resolveSibling(dataFile.getFileName() + ".tmp");
        try {
            Path parent = modelFile.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            GraphProto.Builder graph = skeleton.getGraph().toBuilder();
            boolean wroteData = false;
            try (FileChannel data = external ? FileChannel.open(dataTemp, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE) : null) {
                for (Initializer initializer : initializers) {
                    if (external && initializer.byteCount() >= EXTERNAL_MIN_BYTES) {
                        graph.addInitializer(writeExternal(initializer, data, dataFile.getFileName().toString()));
                        wroteData = true;
                    } else {
                        graph.addInitializer(inline(initializer));
                    }
                }
            }
            ModelProto model = skeleton.toBuilder().setGraph(graph).build();
            try (OutputStream out = Files.newOutputStream(modelTemp)) {
                model.writeTo(out);
            }
            if (wroteData) {
                Files.move(dataTemp, dataFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } else {
                Files.deleteIfExists(dataTemp);
                Files.deleteIfExists(dataFile);
            }
            Files.move(modelTemp, modelFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(modelTemp);
            deleteQuietly(dataTemp);
            throw new UncheckedIOException("cannot write ONNX model " + modelFile.toAbsolutePath() + ": " + e, e);
        } catch (RuntimeException e) {
            deleteQuietly(modelTemp);
            deleteQuietly(dataTemp);
            throw e;
        }
    }

    /** The initializer as a tensor holding its bytes inline. */
    public static TensorProto inline(Initializer initializer) {
        return header(initializer).setRawData(ByteString.copyFrom(initializer.bytes())).build();
    }

    private static TensorProto writeExternal(Initializer initializer, FileChannel data, String location)
            throws IOException {
        long offset = data.position();
        long padding = (ALIGNMENT - offset % ALIGNMENT) % ALIGNMENT;
        if (padding > 0) {
            data.write(ByteBuffer.allocate((int) padding));
            offset += padding;
        }
        ByteBuffer bytes = initializer.bytes();
        long length = bytes.remaining();
        while (bytes.hasRemaining()) {
            data.write(bytes);
        }
        return header(initializer)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(entry("location", location))
                .addExternalData(entry("offset", Long.toString(offset)))
                .addExternalData(entry("length", Long.toString(length)))
                .build();
    }

    private static TensorProto.Builder header(Initializer initializer) {
        TensorProto.Builder tensor = TensorProto.newBuilder()
                .setName(initializer.name())
                .setDataType(OnnxTypes.toOnnx(initializer.dtype()).getNumber());
        for (long dim : initializer.shape()) {
            tensor.addDims(dim);
        }
        return tensor;
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // the original failure is what the caller needs to see
        }
    }
}

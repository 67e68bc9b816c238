package dev.asyncdiff.onnx.graph;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.CodedInputStream;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * An ONNX model read from disk, with its initializers resolved on demand: inline ({@code raw_data}
 * or the typed fields) or in an external data file beside the model ({@code location},
 * {@code offset}, {@code length}). External data is memory-mapped, not read into the heap.
 * Immutable and thread-safe.
 */
public final class OnnxModel {
    private final Path file;
    private final ModelProto proto;

    private OnnxModel(Path file, ModelProto proto) {
        this.file = file;
        this.proto = proto;
    }

    /**
     * Reads the model in {@code file}. External data stays on disk until {@link #tensorData} asks for it.
     *
     * @throws ModelNotFoundException  when the file does not exist
     * @throws MalformedModelException when it is not a readable ONNX model (truncated, corrupt, empty)
     */
    public static OnnxModel load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ModelNotFoundException(file, "ONNX model file");
        }
        ModelProto proto;
        try (InputStream in = Files.newInputStream(file)) {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            coded.setRecursionLimit(1000);
            proto = ModelProto.parseFrom(coded);
        } catch (IOException e) {
            throw new MalformedModelException(file, "not a readable ONNX protobuf (" + e.getMessage() + ")", e);
        }
        if (!proto.hasGraph() || proto.getOpsetImportCount() == 0) {
            throw new MalformedModelException(file, "no graph or no opset import; expected an ONNX ModelProto");
        }
        return new OnnxModel(file, proto);
    }

    /** The model file. */
    public Path file() {
        return file;
    }

    /** The folder holding the model file, against which external data locations resolve. */
    public Path directory() {
        Path parent = file.toAbsolutePath().getParent();
        return parent == null ? Path.of(".") : parent;
    }

    /** The model as read; initializers with external data carry references, not bytes. */
    public ModelProto proto() {
        return proto;
    }

    /** The main graph. */
    public GraphProto graph() {
        return proto.getGraph();
    }

    /** The initializers of the main graph as lazily-read {@link Initializer}s, in graph order. */
    public List<Initializer> initializers() {
        List<Initializer> out = new ArrayList<>(graph().getInitializerCount());
        for (TensorProto tensor : graph().getInitializerList()) {
            out.add(initializer(tensor));
        }
        return out;
    }

    /** {@code tensor} as an {@link Initializer} whose bytes come from this model. */
    public Initializer initializer(TensorProto tensor) {
        return new Initializer(tensor.getName(), OnnxTypes.fromOnnx(tensor.getDataType()),
                dims(tensor), () -> tensorData(tensor));
    }

    /** The dimensions of {@code tensor}. */
    public static long[] dims(TensorProto tensor) {
        return tensor.getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    /** Whether {@code tensor}'s data lies in an external file. */
    public static boolean isExternal(TensorProto tensor) {
        return tensor.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
    }

    /**
     * The little-endian bytes of {@code tensor}, a read-only buffer (mapped from the external file,
     * or a view of the inline data).
     *
     * @throws ModelNotFoundException  when its external data file is missing
     * @throws MalformedModelException when the data is shorter than the tensor needs
     */
    public ByteBuffer tensorData(TensorProto tensor) {
        DType dtype = OnnxTypes.fromOnnx(tensor.getDataType());
        long expected = Math.multiplyExact(elementCount(tensor), dtype.byteSize());
        ByteBuffer data = isExternal(tensor) ? externalData(tensor, expected)
                : inlineData(tensor, dtype, expected);
        if (data.remaining() != expected) {
            throw new MalformedModelException(file, "tensor '" + tensor.getName() + "' needs " + expected
                    + " bytes of " + dtype + " data, found " + data.remaining());
        }
        return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private ByteBuffer externalData(TensorProto tensor, long expected) {
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto entry : tensor.getExternalDataList()) {
            switch (entry.getKey()) {
                case "location" -> location = entry.getValue();
                case "offset" -> offset = parseLong(tensor, entry);
                case "length" -> length = parseLong(tensor, entry);
                default -> { /* checksum and future keys are not needed to read the bytes */ }
            }
        }
        if (location == null || location.isEmpty()) {
            throw new MalformedModelException(file, "tensor '" + tensor.getName()
                    + "' is marked external but has no 'location' entry");
        }
        Path dir = directory().normalize();
        Path dataFile = dir.resolve(location).normalize();
        if (!dataFile.startsWith(dir)) {
            throw new MalformedModelException(file, "external data location '" + location
                    + "' of tensor '" + tensor.getName() + "' points outside the model folder");
        }
        if (!Files.isRegularFile(dataFile)) {
            throw new ModelNotFoundException(dataFile, "external data file of " + file.getFileName()
                    + " (tensor '" + tensor.getName() + "')");
        }
        long size = length < 0 ? expected : length;
        try (FileChannel channel = FileChannel.open(dataFile, StandardOpenOption.READ)) {
            if (offset < 0 || offset + size > channel.size()) {
                throw new MalformedModelException(file, "tensor '" + tensor.getName() + "' reads bytes "
                        + offset + ".." + (offset + size) + " of " + dataFile.getFileName() + ", which has "
                        + channel.size() + " bytes (truncated external data?)");
            }
            if (size > Integer.MAX_VALUE) {
                throw new MalformedModelException(file, "tensor '" + tensor.getName() + "' has " + size
                        + " bytes; a single tensor larger than 2 GiB is not supported");
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, offset, size);
        } catch (IOException e) {
            throw new MalformedModelException(file, "cannot read external data " + dataFile + ": "
                    + e.getMessage(), e);
        }
    }

    private ByteBuffer inlineData(TensorProto tensor, DType dtype, long expected) {
        if (tensor.hasRawData() || expected == 0) {
            return tensor.getRawData().asReadOnlyByteBuffer();
        }
        int count = Math.toIntExact(elementCount(tensor));
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(expected)).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case FP32 -> {
                requireCount(tensor, tensor.getFloatDataCount(), count, "float_data");
                tensor.getFloatDataList().forEach(out::putFloat);
            }
            case INT64 -> {
                requireCount(tensor, tensor.getInt64DataCount(), count, "int64_data");
                tensor.getInt64DataList().forEach(out::putLong);
            }
            case INT32 -> {
                requireCount(tensor, tensor.getInt32DataCount(), count, "int32_data");
                tensor.getInt32DataList().forEach(out::putInt);
            }
            case FP16, BF16 -> {
                requireCount(tensor, tensor.getInt32DataCount(), count, "int32_data");
                tensor.getInt32DataList().forEach(v -> out.putShort((short) v.intValue()));
            }
            case BOOL, UINT8 -> {
                requireCount(tensor, tensor.getInt32DataCount(), count, "int32_data");
                tensor.getInt32DataList().forEach(v -> out.put((byte) v.intValue()));
            }
        }
        return out.flip();
    }

    private void requireCount(TensorProto tensor, int actual, int expected, String field) {
        if (actual != expected) {
            throw new MalformedModelException(file, "tensor '" + tensor.getName() + "' has " + actual
                    + " values in " + field + ", its shape needs " + expected);
        }
    }

    private long parseLong(TensorProto tensor, StringStringEntryProto entry) {
        try {
            return Long.parseLong(entry.getValue());
        } catch (NumberFormatException e) {
            throw new MalformedModelException(file, "tensor '" + tensor.getName() + "' has external data "
                    + entry.getKey() + " '" + entry.getValue() + "', expected an integer", e);
        }
    }

    private static long elementCount(TensorProto tensor) {
        long count = 1;
        for (long dim : tensor.getDimsList()) {
            count = Math.multiplyExact(count, dim);
        }
        return count;
    }
}

package dev.asyncdiff.tck;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.backend.onnx.OnnxBackendProvider;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.OnnxModel;
import dev.asyncdiff.onnx.graph.OnnxWriter;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.BackendProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A deliberately broken backend, {@code broken-onnx}: the {@code onnx} backend, except that every
 * denoiser component after the first loses a skip connection — the skip residual it receives is
 * multiplied by zero before the concatenation that reads it.
 */
public final class SkipDroppingBackend implements BackendProvider {
    private static final Pattern COMPONENT = Pattern.compile("component-(\\d+)\\.onnx");
    private static final Set<String> MODEL_INPUTS = Set.of("sample", "timestep", "encoder_hidden_states",
            "text_embeds", "time_ids");

    @Override
    public String name() {
        return "broken-onnx";
    }

    @Override
    public Backend open(BackendOptions options) {
        Backend onnx = new OnnxBackendProvider().open(options);
        return new Backend() {
            @Override
            public String name() {
                return "broken-onnx";
            }

            @Override
            public InferenceSession load(Path modelFile, Device device) {
                return onnx.load(dropSkip(modelFile), device);
            }

            @Override
            public void close() {
                onnx.close();
            }
        };
    }

    /** A copy of a later component whose first received skip residual is zeroed; other files as they are. */
    static Path dropSkip(Path file) {
        Matcher matcher = COMPONENT.matcher(file.getFileName().toString());
        if (!matcher.matches() || Integer.parseInt(matcher.group(1)) == 0) {
            return file;
        }
        OnnxModel model = OnnxModel.load(file);
        GraphProto graph = model.graph();
        for (ValueInfoProto input : graph.getInputList()) {
            if (MODEL_INPUTS.contains(input.getName())) {
                continue;
            }
            for (int n = 0; n < graph.getNodeCount(); n++) {
                NodeProto node = graph.getNode(n);
                int slot = node.getInputList().indexOf(input.getName());
                if (node.getOpType().equals("Concat") && slot >= 0) {
                    return rewrite(model, n, slot, input.getName());
                }
            }
        }
        return file;
    }

    private static Path rewrite(OnnxModel model, int concat, int slot, String skip) {
        String zero = skip + "__zero";
        String dropped = skip + "__dropped";
        TensorProto zeroValue = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE).addFloatData(0f)
                .build();
        GraphProto.Builder graph = model.graph().toBuilder().clearInitializer();
        graph.setNode(concat, graph.getNode(concat).toBuilder().setInput(slot, dropped));
        graph.addNode(0, NodeProto.newBuilder().setName("/broken/Mul").setOpType("Mul").addInput(skip).addInput(zero)
                .addOutput(dropped));
        graph.addNode(0, NodeProto.newBuilder().setName("/broken/Constant").setOpType("Constant").addOutput(zero)
                .addAttribute(Attr.tensor("value", zeroValue)));
        ModelProto skeleton = model.proto().toBuilder().setGraph(graph).build();
        try {
            Path out = Files.createTempDirectory("broken-sd").resolve(model.file().getFileName());
            OnnxWriter.write(skeleton, model.initializers(), out, ExternalDataPolicy.INLINE);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

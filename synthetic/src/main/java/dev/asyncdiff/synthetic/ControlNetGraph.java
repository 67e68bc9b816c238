package dev.asyncdiff.synthetic;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.Initializer;
import dev.asyncdiff.onnx.graph.OnnxWriter;
import java.nio.file.Path;
import java.util.List;

/**
 * The ONNX graph of a diffusers {@code ControlNetModel} in OnnxStack's export layout. Inputs:
 * {@code sample} {@code [batch, 4, height, width]}, {@code timestep} (a float32 scalar, as the UNet's),
 * {@code encoder_hidden_states} {@code [batch, 77, cross_attention_dim]}, for SDXL {@code text_embeds}
 * and {@code time_ids}, {@code controlnet_cond} {@code [batch, 3, image_height, image_width]} (the control
 * image, {@link ControlNetConfig#downscaleFactor()} times the latent) and {@code conditioning_scale}, a
 * double {@code [1]} as OnnxStack passes it. Outputs: {@code down_block_0_additional_residual} …
 * {@code down_block_{N-1}_additional_residual} and {@code mid_block_additional_residual} in the model
 * dtype, the inputs of {@link UNetGraph#build(UNetConfig, Weights, DType, boolean) the residual UNet}.
 *
 * <p>As in diffusers: {@code sample = conv_in(sample) + controlnet_cond_embedding(controlnet_cond)}; the
 * UNet's down blocks and mid block (same code, scopes and parameter names, so the same seed gives the
 * UNet's encoder weights, as {@code from_unet} copies them); each down residual through its 1x1
 * {@code controlnet_down_blocks.K}, the mid block's output through {@code controlnet_mid_block}; every
 * residual times {@code conditioning_scale}. diffusers zero-initialises those 1x1 convs and the
 * embedding's {@code conv_out}; here they get a small random init so the residuals are not trivially zero.
 *
 * <p>Holds the built graph; immutable once built, not thread-safe to build.
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
public final class ControlNetGraph {
    /** The name of the conditioning-scale input. */
    public static final String CONDITIONING_SCALE = "conditioning_scale";
    /** The name of the control image input. */
    public static final String CONTROLNET_COND = "controlnet_cond";
    /**
     * Gain of the convs diffusers zero-initialises ({@code controlnet_down_blocks}, {@code controlnet_mid_block},
     * the embedding's {@code conv_out}): the residuals are a tenth of the activations they project.
     */
    static final double ZERO_CONV_GAIN = 0.1;
    private final GraphBuilder graph;

    private ControlNetGraph(GraphBuilder graph) {
        this.graph = graph;
    }

    /**
     * Builds the ControlNet of {@code cfg} with weights from {@code weights}; nothing is written until
     * {@link #write}.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public static ControlNetGraph build(ControlNetConfig cfg, Weights weights, DType dtype) {
        UNetConfig unet = cfg.unet();
        GraphBuilder graph = new GraphBuilder("controlnet");
        Layers nn = new Layers(graph, weights, dtype);
        int first = unet.blockOutChannels().get(0);

        String sample = graph.input("sample", dtype, "batch", unet.inChannels(), "height", "width");
        String timestep = graph.input("timestep", DType.FP32);
        String context = graph.input("encoder_hidden_states", dtype, "batch", unet.sequenceLength(),
                unet.crossAttentionDim());
        String textEmbeds = unet.hasAddEmbedding() ? graph.input("text_embeds", dtype, "batch", unet.textEmbedsDim())
                : null;
        String timeIds = unet.hasAddEmbedding() ? graph.input("time_ids", dtype, "batch", UNetConfig.TIME_IDS) : null;
        String cond = graph.input(CONTROLNET_COND, dtype, "batch", ControlNetConfig.CONDITIONING_CHANNELS,
                "image_height", "image_width");
        // GraphBuilder declares no float64 tensors: the input is declared float32 and retyped in skeleton()
        String scale = graph.input(CONDITIONING_SCALE, DType.FP32, 1);

        String temb = UNetEncoder.timeEmbedding(nn, unet, sample, timestep, null, textEmbeds, timeIds);
        String h = nn.conv("conv_in", sample, unet.inChannels(), first, 3, 1, 1, 1);
        h = nn.add(h, conditioningEmbedding(nn, cfg, cond));
        List<UNetEncoder.Skip> down = UNetEncoder.downBlocks(nn, unet, h, temb, context);
        String mid = UNetEncoder.midBlock(nn, unet, down.get(down.size() - 1).value(), temb, context);

        String factor = nn.op("Cast", List.of(scale), Attr.i("to", UNetGraph.onnxType(dtype)));
        List<Integer> scales = unet.downResidualScales();
        for (int k = 0; k < down.size(); k++) {
            UNetEncoder.Skip skip = down.get(k);
            String projected = nn.conv("controlnet_down_blocks." + k, skip.value(), skip.channels(), skip.channels(),
                    1, 1, 0, ZERO_CONV_GAIN);
            String name = UNetGraph.downResidualName(k);
            graph.namedOp("Mul", List.of(projected, factor), name);
            graph.output(name, dtype, "batch", skip.channels(), UNetGraph.scaledAxis("height", scales.get(k)),
                    UNetGraph.scaledAxis("width", scales.get(k)));
        }
        int deepest = unet.blockOutChannels().get(unet.levels() - 1);
        String projected = nn.conv("controlnet_mid_block", mid, deepest, deepest, 1, 1, 0, ZERO_CONV_GAIN);
        graph.namedOp("Mul", List.of(projected, factor), UNetGraph.MID_RESIDUAL);
        int midScale = 1 << (unet.levels() - 1);
        graph.output(UNetGraph.MID_RESIDUAL, dtype, "batch", deepest, UNetGraph.scaledAxis("height", midScale),
                UNetGraph.scaledAxis("width", midScale));
        return new ControlNetGraph(graph);
    }

    /**
     * diffusers' {@code ControlNetConditioningEmbedding}: {@code conv_in} (3 to emb[0]), SiLU, then per stage
     * {@code blocks.2i} (emb[i] to emb[i], 3x3) and {@code blocks.2i+1} (emb[i] to emb[i+1], 3x3 stride 2),
     * each followed by SiLU, and {@code conv_out} (emb[-1] to block_out_channels[0], 3x3).
     */
    private static String conditioningEmbedding(Layers nn, ControlNetConfig cfg, String cond) {
        List<Integer> emb = cfg.conditioningEmbeddingOutChannels();
        try (GraphBuilder.Scope s = nn.scope("controlnet_cond_embedding")) {
            String e = silu(nn, nn.conv("conv_in", cond, ControlNetConfig.CONDITIONING_CHANNELS, emb.get(0), 3, 1, 1, 1));
            for (int i = 0; i < emb.size() - 1; i++) {
                e = silu(nn, nn.conv("blocks." + 2 * i, e, emb.get(i), emb.get(i), 3, 1, 1, 1));
                e = silu(nn, nn.conv("blocks." + (2 * i + 1), e, emb.get(i), emb.get(i + 1), 3, 2, 1, 1));
            }
            return nn.conv("conv_out", e, emb.get(emb.size() - 1), cfg.unet().blockOutChannels().get(0), 3, 1, 1,
                    ZERO_CONV_GAIN);
        }
    }

    /** {@code F.silu} in the current scope (a functional call: no module scope of its own, as torch exports it). */
    private static String silu(Layers nn, String x) {
        return nn.mul(x, nn.op("Sigmoid", List.of(x)));
    }

    /** The number of elements of all parameters. */
    public long parameterCount() {
        return graph.parameterCount();
    }

    /** The parameters in graph order, named as diffusers' state dict names them. */
    public List<Initializer> initializers() {
        return graph.initializers();
    }

    /** The model without initializers, {@code conditioning_scale} declared float64. */
    public ModelProto skeleton() {
        ModelProto model = graph.skeleton();
        ModelProto.Builder builder = model.toBuilder();
        List<ValueInfoProto> inputs = model.getGraph().getInputList();
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i).getName().equals(CONDITIONING_SCALE)) {
                builder.getGraphBuilder().getInputBuilder(i).getTypeBuilder().getTensorTypeBuilder()
                        .setElemType(TensorProto.DataType.DOUBLE_VALUE);
            }
        }
        return builder.build();
    }

    /**
     * Writes the model to {@code modelFile}, initializers placed by {@code policy}.
     *
     * @throws java.io.UncheckedIOException naming the file when it cannot be written
     */
    public void write(Path modelFile, ExternalDataPolicy policy) {
        OnnxWriter.write(skeleton(), graph.initializers(), modelFile, policy);
    }
}

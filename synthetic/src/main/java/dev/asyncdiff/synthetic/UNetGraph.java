package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.OnnxTypes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The ONNX graph of a diffusers {@code UNet2DConditionModel} as the standard export lays it out:
 * inputs {@code sample} {@code [batch, 4, height, width]}, {@code timestep} (a float32 scalar),
 * {@code encoder_hidden_states} {@code [batch, 77, cross_attention_dim]} and, for SDXL,
 * {@code text_embeds} and {@code time_ids}; output {@code out_sample}. Height and width are any
 * multiple of {@code 2^(levels-1)}. A UNet with a class embedding (the x4 upscaler) also takes
 * {@code class_labels}, int64 {@code [batch]}, after {@code encoder_hidden_states}: diffusers has no
 * standard export of it, so the name is the forward argument's, as a torch export would call it.
 * A variant also takes a {@link ControlNetGraph ControlNet}'s residuals
 * ({@link #build(UNetConfig, Weights, DType, boolean)}). The encoder half is {@link UNetEncoder}'s.
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
public final class UNetGraph {
    /** Gain of {@code conv_out}, so that the predicted noise has a standard deviation well under one. */
    static final double CONV_OUT_GAIN = 0.5;
    /** The name of the mid-block residual: a ControlNet's output and a residual UNet's input. */
    public static final String MID_RESIDUAL = "mid_block_additional_residual";
    private static final double MAX_PERIOD = 10_000;

    private UNetGraph() {
    }

    /**
     * Builds the UNet of {@code cfg} with weights from {@code weights}; nothing is written until
     * {@link GraphBuilder#write}.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public static GraphBuilder build(UNetConfig cfg, Weights weights, DType dtype) {
        return build(cfg, weights, dtype, false);
    }

    /**
     * Builds the UNet of {@code cfg}, with {@code residualInputs} the variant that takes a ControlNet's
     * outputs (OnnxStack's "controlnet UNet"): after the other inputs come
     * {@code down_block_0_additional_residual} … {@code down_block_{N-1}_additional_residual}
     * ({@code [batch, channels, height/f, width/f]} per {@link UNetConfig#downResidualChannels()} and
     * {@link UNetConfig#downResidualScales()}) and {@code mid_block_additional_residual}. As in diffusers'
     * {@code UNet2DConditionModel.forward}, each down residual is added to its skip connection once the
     * down blocks have run (the mid block still takes the down path's own output), and the mid residual
     * to the mid block's output. Parameters, their names and their values are those of the plain UNet,
     * so zero residuals give exactly its output.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public static GraphBuilder build(UNetConfig cfg, Weights weights, DType dtype, boolean residualInputs) {
        GraphBuilder graph = new GraphBuilder("unet");
        Layers nn = new Layers(graph, weights, dtype);
        int levels = cfg.levels();
        List<Integer> channels = cfg.blockOutChannels();
        int groups = cfg.normNumGroups();
        double eps = cfg.normEps();
        int tembDim = cfg.timeEmbedDim();

        String sample = graph.input("sample", dtype, "batch", cfg.inChannels(), "height", "width");
        String timestep = graph.input("timestep", DType.FP32);
        String context = graph.input("encoder_hidden_states", dtype, "batch", cfg.sequenceLength(),
                cfg.crossAttentionDim());
        String classLabels = cfg.hasClassEmbedding() ? graph.input("class_labels", DType.INT64, "batch") : null;
        String textEmbeds = cfg.hasAddEmbedding() ? graph.input("text_embeds", dtype, "batch", cfg.textEmbedsDim())
                : null;
        String timeIds = cfg.hasAddEmbedding() ? graph.input("time_ids", dtype, "batch", UNetConfig.TIME_IDS) : null;
        List<String> downResiduals = new ArrayList<>();
        String midResidual = null;
        if (residualInputs) {
            List<Integer> residualChannels = cfg.downResidualChannels();
            List<Integer> scales = cfg.downResidualScales();
            for (int k = 0; k < residualChannels.size(); k++) {
                downResiduals.add(graph.input(downResidualName(k), dtype, "batch", residualChannels.get(k),
                        scaledAxis("height", scales.get(k)), scaledAxis("width", scales.get(k))));
            }
            int deepest = 1 << (levels - 1);
            midResidual = graph.input(MID_RESIDUAL, dtype, "batch", channels.get(levels - 1),
                    scaledAxis("height", deepest), scaledAxis("width", deepest));
        }

        String temb = UNetEncoder.timeEmbedding(nn, cfg, sample, timestep, classLabels, textEmbeds, timeIds);
        String h = nn.conv("conv_in", sample, cfg.inChannels(), channels.get(0), 3, 1, 1, 1);
        List<UNetEncoder.Skip> down = UNetEncoder.downBlocks(nn, cfg, h, temb, context);
        h = down.get(down.size() - 1).value();
        Deque<UNetEncoder.Skip> skips = new ArrayDeque<>();
        for (int k = 0; k < down.size(); k++) {
            UNetEncoder.Skip skip = down.get(k);
            skips.push(residualInputs ? new UNetEncoder.Skip(nn.add(skip.value(), downResiduals.get(k)), skip.channels())
                    : skip);
        }
        h = UNetEncoder.midBlock(nn, cfg, h, temb, context);
        if (residualInputs) {
            h = nn.add(h, midResidual);
        }

        int current = channels.get(levels - 1);
        for (int i = 0; i < levels; i++) {
            int level = levels - 1 - i;
            int out = channels.get(level);
            try (GraphBuilder.Scope block = nn.scope("up_blocks." + i)) {
                for (int j = 0; j <= cfg.layersPerBlock(); j++) {
                    UNetEncoder.Skip skip = skips.pop();
                    h = nn.op("Concat", List.of(h, skip.value()), Attr.i("axis", 1));
                    try (GraphBuilder.Scope r = nn.scope("resnets." + j)) {
                        h = nn.resnet(h, temb, current + skip.channels(), out, tembDim, groups, eps);
                    }
                    current = out;
                    if (cfg.hasCrossAttention(level)) {
                        h = UNetEncoder.attention(nn, cfg, j, h, context, out, level);
                    }
                }
                if (i < levels - 1) {
                    h = nn.upsample(h, out);
                }
            }
        }

        h = nn.silu("conv_act", nn.groupNorm("conv_norm_out", h, current, groups, eps));
        String out = nn.conv("conv_out", h, current, cfg.outChannels(), 3, 1, 1, CONV_OUT_GAIN, "out_sample");
        graph.output(out, dtype, "batch", cfg.outChannels(), "height", "width");
        return graph;
    }

    /**
     * The name of down residual {@code index} ({@code down_block_0_additional_residual}, …): a ControlNet's
     * output and a residual UNet's input.
     */
    public static String downResidualName(int index) {
        return "down_block_" + index + "_additional_residual";
    }

    /** A symbolic spatial axis {@code scale} times smaller than {@code axis}: {@code height}, {@code height_div_2}, … */
    static String scaledAxis(String axis, int scale) {
        return scale == 1 ? axis : axis + "_div_" + scale;
    }

    /**
     * diffusers' {@code get_timestep_embedding} with {@code flip_sin_to_cos} and {@code freq_shift} 0,
     * computed in float32 and cast to the model dtype: {@code [cos(t f), sin(t f)]} with
     * {@code f_i = exp(-ln(10000) i / (dim/2))}.
     */
    static String sinusoidal(Layers nn, String timesteps, int dim) {
        int half = dim / 2;
        float[] frequencies = new float[half];
        for (int i = 0; i < half; i++) {
            frequencies[i] = (float) Math.exp(-Math.log(MAX_PERIOD) * i / half);
        }
        String freq = nn.constant(DType.FP32, new long[] {1, half}, Weights.of(DType.FP32, frequencies));
        String args = nn.mul(nn.op("Unsqueeze", List.of(timesteps, nn.longs(1))), freq);
        String embedding = nn.op("Concat", List.of(nn.op("Cos", List.of(args)), nn.op("Sin", List.of(args))),
                Attr.i("axis", 1));
        return nn.op("Cast", List.of(embedding), Attr.i("to", onnxType(nn.dtype())));
    }

    /** The ONNX element type number of {@code dtype}, for {@code Cast}. */
    static long onnxType(DType dtype) {
        return OnnxTypes.toOnnx(dtype).getNumber();
    }
}

package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.OnnxTypes;
import java.util.ArrayDeque;
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
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
public final class UNetGraph {
    /** Gain of {@code conv_out}, so that the predicted noise has a standard deviation well under one. */
    static final double CONV_OUT_GAIN = 0.5;
    /** Standard deviation of {@code class_embedding}: of the order of the time embedding it is added to. */
    static final double CLASS_EMBEDDING_STD = 0.5;
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

        String temb;
        try (GraphBuilder.Scope s = nn.scope("time_proj")) {
            String batch = nn.op("Slice", List.of(nn.op("Shape", List.of(sample)), nn.longs(0), nn.longs(1)));
            String timesteps = nn.op("Expand", List.of(timestep, batch));
            temb = sinusoidal(nn, timesteps, channels.get(0));
        }
        try (GraphBuilder.Scope s = nn.scope("time_embedding")) {
            temb = nn.linear("linear_1", temb, channels.get(0), tembDim, true, 1);
            temb = nn.linear("linear_2", nn.silu("act", temb), tembDim, tembDim, true, 1);
        }
        if (classLabels != null) {
            String classEmbedding;
            try (GraphBuilder.Scope s = nn.scope("class_embedding")) {
                String table = nn.parameter("weight", new long[] {cfg.numClassEmbeds(), tembDim}, CLASS_EMBEDDING_STD);
                classEmbedding = nn.op("Gather", List.of(table, classLabels), Attr.i("axis", 0));
            }
            temb = nn.add(temb, classEmbedding);
        }
        if (cfg.hasAddEmbedding()) {
            String textEmbeds = graph.input("text_embeds", dtype, "batch", cfg.textEmbedsDim());
            String timeIds = graph.input("time_ids", dtype, "batch", UNetConfig.TIME_IDS);
            String timeEmbeds;
            try (GraphBuilder.Scope s = nn.scope("add_time_proj")) {
                String flat = nn.op("Reshape", List.of(nn.op("Cast", List.of(timeIds), Attr.i("to", onnxType(DType.FP32))),
                        nn.longs(-1)));
                timeEmbeds = sinusoidal(nn, flat, cfg.additionTimeEmbedDim());
                timeEmbeds = nn.op("Reshape", List.of(timeEmbeds,
                        nn.longs(-1, (long) UNetConfig.TIME_IDS * cfg.additionTimeEmbedDim())));
            }
            String addEmbeds = nn.op("Concat", List.of(textEmbeds, timeEmbeds), Attr.i("axis", -1));
            try (GraphBuilder.Scope s = nn.scope("add_embedding")) {
                String aug = nn.linear("linear_1", addEmbeds, cfg.projectionClassEmbeddingsInputDim(), tembDim, true, 1);
                aug = nn.linear("linear_2", nn.silu("act", aug), tembDim, tembDim, true, 1);
                temb = nn.add(temb, aug);
            }
        }

        String h = nn.conv("conv_in", sample, cfg.inChannels(), channels.get(0), 3, 1, 1, 1);
        Deque<Skip> skips = new ArrayDeque<>();
        skips.push(new Skip(h, channels.get(0)));
        int current = channels.get(0);
        for (int level = 0; level < levels; level++) {
            int out = channels.get(level);
            try (GraphBuilder.Scope block = nn.scope("down_blocks." + level)) {
                for (int j = 0; j < cfg.layersPerBlock(); j++) {
                    try (GraphBuilder.Scope r = nn.scope("resnets." + j)) {
                        h = nn.resnet(h, temb, current, out, tembDim, groups, eps);
                    }
                    current = out;
                    if (cfg.hasCrossAttention(level)) {
                        h = attention(nn, cfg, j, h, context, out, level);
                    }
                    skips.push(new Skip(h, out));
                }
                if (level < levels - 1) {
                    h = nn.downsample(h, out);
                    skips.push(new Skip(h, out));
                }
            }
        }

        int deepest = channels.get(levels - 1);
        try (GraphBuilder.Scope mid = nn.scope("mid_block")) {
            try (GraphBuilder.Scope r = nn.scope("resnets.0")) {
                h = nn.resnet(h, temb, deepest, deepest, tembDim, groups, eps);
            }
            try (GraphBuilder.Scope a = nn.scope("attentions.0")) {
                // diffusers' UNetMidBlock2DCrossAttn takes no only_cross_attention: attn1 is self-attention
                h = nn.transformer2d(h, context, deepest, cfg.crossAttentionDim(), cfg.attentionHeadDim().get(levels - 1),
                        cfg.transformerLayersPerBlock().get(levels - 1), cfg.useLinearProjection(), false, groups);
            }
            try (GraphBuilder.Scope r = nn.scope("resnets.1")) {
                h = nn.resnet(h, temb, deepest, deepest, tembDim, groups, eps);
            }
        }

        for (int i = 0; i < levels; i++) {
            int level = levels - 1 - i;
            int out = channels.get(level);
            try (GraphBuilder.Scope block = nn.scope("up_blocks." + i)) {
                for (int j = 0; j <= cfg.layersPerBlock(); j++) {
                    Skip skip = skips.pop();
                    h = nn.op("Concat", List.of(h, skip.value()), Attr.i("axis", 1));
                    try (GraphBuilder.Scope r = nn.scope("resnets." + j)) {
                        h = nn.resnet(h, temb, current + skip.channels(), out, tembDim, groups, eps);
                    }
                    current = out;
                    if (cfg.hasCrossAttention(level)) {
                        h = attention(nn, cfg, j, h, context, out, level);
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

    private static String attention(Layers nn, UNetConfig cfg, int index, String h, String context, int channels,
                                    int level) {
        try (GraphBuilder.Scope a = nn.scope("attentions." + index)) {
            return nn.transformer2d(h, context, channels, cfg.crossAttentionDim(), cfg.attentionHeadDim().get(level),
                    cfg.transformerLayersPerBlock().get(level), cfg.useLinearProjection(), cfg.crossAttentionOnly(level),
                    cfg.normNumGroups());
        }
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

    private record Skip(String value, int channels) {
    }
}

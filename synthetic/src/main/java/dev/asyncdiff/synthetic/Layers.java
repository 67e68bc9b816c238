package dev.asyncdiff.synthetic;

import ai.onnx.proto.OnnxMl.AttributeProto;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.Initializer;
import dev.asyncdiff.onnx.graph.OnnxWriter;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * Neural-network building blocks over a {@link GraphBuilder}, named the way a torch export names
 * them: a module opens a scope ({@code resnets.0}, {@code conv1}), its parameters are called
 * {@code <scope path>.weight} and {@code .bias}, its nodes {@code /<scope path>/Conv}. Only
 * standard ONNX operators at opset 17 are used (GroupNorm as Reshape, InstanceNormalization,
 * Reshape, Mul, Add as torch exports it; GELU by its erf formula; attention as MatMul and Softmax).
 * Linear weights are stored transposed, {@code [in, out]}, as the exporter stores them for
 * {@code MatMul}. Every parameter draws its values from {@link Weights} under its full name.
 * Not thread-safe, like the builder it writes to.
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
public final class Layers {
    /** Standard deviation of every bias: small, so activations stay centred. */
    static final double BIAS_STD = 0.01;
    private static final float SQRT_HALF = (float) Math.sqrt(0.5);
    private final GraphBuilder graph;
    private final Weights weights;
    private final DType dtype;
    private final Deque<String> scopes = new ArrayDeque<>();

    /**
     * Layers writing to {@code graph} with parameters and activations of {@code dtype}.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public Layers(GraphBuilder graph, Weights weights, DType dtype) {
        if (dtype != DType.FP32 && dtype != DType.FP16) {
            throw new IllegalArgumentException("synthetic models are FP32 or FP16, not " + dtype);
        }
        this.graph = graph;
        this.weights = weights;
        this.dtype = dtype;
    }

    /** The graph being built. */
    public GraphBuilder graph() {
        return graph;
    }

    /** The element type of parameters and activations. */
    public DType dtype() {
        return dtype;
    }

    /** Opens a module scope: node names gain {@code /name}, parameter names {@code name.}. */
    public GraphBuilder.Scope scope(String name) {
        GraphBuilder.Scope inner = graph.scope(name);
        scopes.addLast(name);
        return () -> {
            scopes.removeLast();
            inner.close();
        };
    }

    /** Adds a random parameter of standard deviation {@code std}, named within the current scope. */
    public String parameter(String localName, long[] shape, double std) {
        String fullName = scopes.isEmpty() ? localName : String.join(".", scopes) + "." + localName;
        return graph.parameter(localName, dtype, shape, weights.random(fullName, dtype, shape, std));
    }

    /** Adds a parameter whose every element is {@code value} (norm weights 1, norm biases 0). */
    public String filledParameter(String localName, long[] shape, float value) {
        return graph.parameter(localName, dtype, shape, Weights.filled(dtype, shape, value));
    }

    /** A {@code Constant} node of {@code type} holding {@code bytes} (little-endian). */
    public String constant(DType type, long[] shape, ByteBuffer bytes) {
        Initializer value = new Initializer("value", type, shape, bytes::duplicate);
        return graph.op("Constant", List.of(),
                Attr.tensor("value", OnnxWriter.inline(value).toBuilder().clearName().build()));
    }

    /** A constant 1-D int64 tensor (shapes, axes, pads). */
    public String longs(long... values) {
        return graph.constantLongs(values);
    }

    /** A constant scalar of the model dtype. */
    public String scalar(float value) {
        return graph.constantScalar(value, dtype);
    }

    /** Adds a node with one output named after the current scope. */
    public String op(String opType, List<String> inputs, AttributeProto... attributes) {
        return graph.op(opType, inputs, attributes);
    }

    private String op(String opType, String outputName, List<String> inputs, AttributeProto... attributes) {
        return outputName == null ? graph.op(opType, inputs, attributes)
                : graph.namedOp(opType, inputs, outputName, attributes);
    }

    /** Elementwise sum. */
    public String add(String a, String b) {
        return op("Add", List.of(a, b));
    }

    /** Elementwise product. */
    public String mul(String a, String b) {
        return op("Mul", List.of(a, b));
    }

    /** {@code torch.nn.Linear} in scope {@code name}: MatMul with a {@code [in, out]} weight, then Add of the bias. */
    public String linear(String name, String x, int in, int out, boolean bias, double gain) {
        return linear(name, x, in, out, bias, gain, null);
    }

    /** {@link #linear(String, String, int, int, boolean, double)} whose result is called {@code outputName}. */
    public String linear(String name, String x, int in, int out, boolean bias, double gain, String outputName) {
        try (GraphBuilder.Scope s = scope(name)) {
            String weight = parameter("weight", new long[] {in, out}, gain / Math.sqrt(in));
            if (!bias) {
                return op("MatMul", outputName, List.of(x, weight));
            }
            String product = op("MatMul", List.of(x, weight));
            String b = parameter("bias", new long[] {out}, BIAS_STD);
            return op("Add", outputName, List.of(product, b));
        }
    }

    /** {@code torch.nn.Conv2d} in scope {@code name} with square kernel, stride and symmetric padding. */
    public String conv(String name, String x, int in, int out, int kernel, int stride, int pad, double gain) {
        return conv(name, x, in, out, kernel, stride, pad, gain, null);
    }

    /** {@link #conv(String, String, int, int, int, int, int, double)} whose result is called {@code outputName}. */
    public String conv(String name, String x, int in, int out, int kernel, int stride, int pad, double gain,
                       String outputName) {
        try (GraphBuilder.Scope s = scope(name)) {
            String weight = parameter("weight", new long[] {out, in, kernel, kernel},
                    gain / Math.sqrt((double) in * kernel * kernel));
            String bias = parameter("bias", new long[] {out}, BIAS_STD);
            return op("Conv", outputName, List.of(x, weight, bias),
                    Attr.ints("dilations", 1, 1), Attr.i("group", 1), Attr.ints("kernel_shape", kernel, kernel),
                    Attr.ints("pads", pad, pad, pad, pad), Attr.ints("strides", stride, stride));
        }
    }

    /**
     * {@code torch.nn.GroupNorm} in scope {@code name} over {@code [batch, channels, ...]}, as torch
     * exports it: Reshape to {@code [batch, groups, -1]}, InstanceNormalization, Reshape back, Mul, Add.
     */
    public String groupNorm(String name, String x, int channels, int groups, double eps) {
        return groupNorm(name, x, channels, groups, eps, 2);
    }

    /**
     * {@link #groupNorm(String, String, int, int, double)} over {@code [batch, channels, d1 … dN]} with
     * {@code trailingAxes} N axes after the channels: 2 for images, 3 for {@code [batch, channels, frames, h, w]}.
     */
    public String groupNorm(String name, String x, int channels, int groups, double eps, int trailingAxes) {
        try (GraphBuilder.Scope s = scope(name)) {
            String grouped = op("Reshape", List.of(x, longs(0, groups, -1)));
            String ones = constant(dtype, new long[] {groups}, Weights.filled(dtype, new long[] {groups}, 1f).get());
            String zeros = constant(dtype, new long[] {groups}, Weights.filled(dtype, new long[] {groups}, 0f).get());
            String normalized = op("InstanceNormalization", List.of(grouped, ones, zeros),
                    Attr.f("epsilon", (float) eps));
            String restored = op("Reshape", List.of(normalized, op("Shape", List.of(x))));
            String weight = filledParameter("weight", new long[] {channels}, 1f);
            String bias = filledParameter("bias", new long[] {channels}, 0f);
            long[] trailing = new long[trailingAxes];
            for (int i = 0; i < trailingAxes; i++) {
                trailing[i] = i + 1;
            }
            String axes = longs(trailing);
            String scaled = mul(restored, op("Unsqueeze", List.of(weight, axes)));
            return add(scaled, op("Unsqueeze", List.of(bias, axes)));
        }
    }

    /**
     * {@code torch.nn.Conv3d} in scope {@code name} with kernel (3, 1, 1) and padding (1, 0, 0): mixes each pixel
     * with the same pixel of the neighbouring frames. A non-null {@code outputName} names the result.
     */
    public String temporalConv(String name, String x, int in, int out, String outputName) {
        try (GraphBuilder.Scope s = scope(name)) {
            String weight = parameter("weight", new long[] {out, in, 3, 1, 1}, 1 / Math.sqrt(3.0 * in));
            String bias = parameter("bias", new long[] {out}, BIAS_STD);
            return op("Conv", outputName, List.of(x, weight, bias), Attr.ints("dilations", 1, 1, 1), Attr.i("group", 1),
                    Attr.ints("kernel_shape", 3, 1, 1), Attr.ints("pads", 1, 0, 0, 1, 0, 0), Attr.ints("strides", 1, 1, 1));
        }
    }

    /** {@code torch.nn.LayerNorm} over the last axis in scope {@code name}. */
    public String layerNorm(String name, String x, int dim, double eps) {
        return layerNorm(name, x, dim, eps, null);
    }

    /** {@link #layerNorm(String, String, int, double)} whose result is called {@code outputName}. */
    public String layerNorm(String name, String x, int dim, double eps, String outputName) {
        try (GraphBuilder.Scope s = scope(name)) {
            String weight = filledParameter("weight", new long[] {dim}, 1f);
            String bias = filledParameter("bias", new long[] {dim}, 0f);
            return op("LayerNormalization", outputName, List.of(x, weight, bias), Attr.i("axis", -1),
                    Attr.f("epsilon", (float) eps));
        }
    }

    /**
     * {@code torch.nn.LayerNorm(dim, elementwise_affine=False)} over the last axis in scope {@code name}:
     * no parameters, so scale and bias are constants, as torch exports them.
     */
    public String plainLayerNorm(String name, String x, int dim, double eps) {
        try (GraphBuilder.Scope s = scope(name)) {
            String ones = constant(dtype, new long[] {dim}, Weights.filled(dtype, new long[] {dim}, 1f).get());
            String zeros = constant(dtype, new long[] {dim}, Weights.filled(dtype, new long[] {dim}, 0f).get());
            return op("LayerNormalization", List.of(x, ones, zeros), Attr.i("axis", -1), Attr.f("epsilon", (float) eps));
        }
    }

    /**
     * T5's {@code T5LayerNorm} in scope {@code name}: a root-mean-square norm without centring or bias,
     * {@code weight * x / sqrt(mean(x^2) + eps)}, computed in float32 as transformers does.
     */
    public String rmsNorm(String name, String x, int dim, double eps) {
        try (GraphBuilder.Scope s = scope(name)) {
            String wide = dtype == DType.FP32 ? x : op("Cast", List.of(x), Attr.i("to", UNetGraph.onnxType(DType.FP32)));
            String variance = op("ReduceMean", List.of(mul(wide, wide)), Attr.ints("axes", -1), Attr.i("keepdims", 1));
            String rms = op("Sqrt", List.of(add(variance, graph.constantScalar((float) eps, DType.FP32))));
            String normed = op("Div", List.of(wide, rms));
            if (dtype != DType.FP32) {
                normed = op("Cast", List.of(normed), Attr.i("to", UNetGraph.onnxType(dtype)));
            }
            return mul(filledParameter("weight", new long[] {dim}, 1f), normed);
        }
    }

    /** SiLU, {@code x * sigmoid(x)}, in scope {@code name}. */
    public String silu(String name, String x) {
        try (GraphBuilder.Scope s = scope(name)) {
            return mul(x, op("Sigmoid", List.of(x)));
        }
    }

    /** Exact GELU, {@code 0.5 x (1 + erf(x / sqrt 2))}, in the current scope. */
    public String gelu(String x) {
        String erf = op("Erf", List.of(mul(x, scalar(SQRT_HALF))));
        return mul(mul(x, add(erf, scalar(1f))), scalar(0.5f));
    }

    /**
     * GELU's tanh approximation ({@code approximate="tanh"}, transformers' {@code gelu_new}) in the
     * current scope: {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}, decomposed as an opset-17
     * export writes it.
     */
    public String geluTanh(String x) {
        String cube = mul(mul(x, x), x);
        String inner = mul(add(x, mul(cube, scalar(0.044715f))), scalar((float) Math.sqrt(2 / Math.PI)));
        return mul(mul(x, scalar(0.5f)), add(op("Tanh", List.of(inner)), scalar(1f)));
    }

    /** CLIP's quick GELU, {@code x * sigmoid(1.702 x)}, in the current scope. */
    public String quickGelu(String x) {
        return mul(x, op("Sigmoid", List.of(mul(x, scalar(1.702f)))));
    }

    /**
     * Scaled dot-product attention of {@code [batch, tokens, heads*headDim]} queries, keys and values
     * in the current scope, with an optional additive {@code mask} (broadcast over the scores).
     */
    public String attention(String q, String k, String v, int heads, int headDim, String mask) {
        return attention(q, k, v, heads, headDim, mask, (float) (1.0 / Math.sqrt(headDim)));
    }

    /**
     * {@link #attention(String, String, String, int, int, String)} with the scores multiplied by
     * {@code scale} instead of {@code 1/sqrt(headDim)}; T5 does not scale (1), and then no Mul is written.
     */
    public String attention(String q, String k, String v, int heads, int headDim, String mask, float scale) {
        String split = longs(0, 0, heads, headDim);
        String queries = op("Transpose", List.of(op("Reshape", List.of(q, split))), Attr.ints("perm", 0, 2, 1, 3));
        String keys = op("Transpose", List.of(op("Reshape", List.of(k, split))), Attr.ints("perm", 0, 2, 3, 1));
        String values = op("Transpose", List.of(op("Reshape", List.of(v, split))), Attr.ints("perm", 0, 2, 1, 3));
        String scores = op("MatMul", List.of(queries, keys));
        if (scale != 1f) {
            scores = mul(scores, scalar(scale));
        }
        if (mask != null) {
            scores = add(scores, mask);
        }
        String probabilities = op("Softmax", List.of(scores), Attr.i("axis", -1));
        String context = op("MatMul", List.of(probabilities, values));
        String merged = op("Transpose", List.of(context), Attr.ints("perm", 0, 2, 1, 3));
        return op("Reshape", List.of(merged, longs(0, 0, (long) heads * headDim)));
    }

    /** {@code [batch, channels, h, w]} to {@code [batch, h*w, channels]}. */
    public String toTokens(String image) {
        return op("Transpose", List.of(op("Reshape", List.of(image, longs(0, 0, -1)))), Attr.ints("perm", 0, 2, 1));
    }

    /** {@code [batch, h*w, channels]} back to the shape of {@code like}, {@code [batch, channels, h, w]}. */
    public String toImage(String tokens, String like) {
        String channelsFirst = op("Transpose", List.of(tokens), Attr.ints("perm", 0, 2, 1));
        return op("Reshape", List.of(channelsFirst, op("Shape", List.of(like))));
    }

    /**
     * diffusers' {@code ResnetBlock2D} in the current scope: norm1, SiLU, conv1, plus
     * {@code time_emb_proj(SiLU(temb))} when {@code temb} is given, norm2, SiLU, conv2, and a 1x1
     * {@code conv_shortcut} when the channel count changes.
     */
    public String resnet(String x, String temb, int in, int out, int tembDim, int groups, double eps) {
        String h = conv("conv1", silu("nonlinearity", groupNorm("norm1", x, in, groups, eps)), in, out, 3, 1, 1, 1);
        if (temb != null) {
            String t = linear("time_emb_proj", silu("nonlinearity_1", temb), tembDim, out, true, 1);
            h = add(h, op("Unsqueeze", List.of(t, longs(2, 3))));
        }
        h = silu("nonlinearity_2", groupNorm("norm2", h, out, groups, eps));
        h = conv("conv2", h, out, out, 3, 1, 1, 1);
        String shortcut = in == out ? x : conv("conv_shortcut", x, in, out, 1, 1, 0, 1);
        return add(shortcut, h);
    }

    /**
     * diffusers' {@code Attention} with separate projections in the current scope:
     * {@code to_q}, {@code to_k}, {@code to_v} (keys and values from {@code context}, or from
     * {@code x} for self-attention) and {@code to_out.0}.
     */
    public String projectedAttention(String x, String context, int queryDim, int contextDim, int heads, int headDim,
                                     boolean qkvBias) {
        int inner = heads * headDim;
        String source = context == null ? x : context;
        String q = linear("to_q", x, queryDim, inner, qkvBias, 1);
        String k = linear("to_k", source, contextDim, inner, qkvBias, 1);
        String v = linear("to_v", source, contextDim, inner, qkvBias, 1);
        return linear("to_out.0", attention(q, k, v, heads, headDim, null), inner, queryDim, true, 1);
    }

    /**
     * diffusers' {@code BasicTransformerBlock} in the current scope: self-attention, cross-attention
     * on {@code context} and a GEGLU feed-forward, each after a LayerNorm and added to the residual.
     * With {@code onlyCrossAttention} (diffusers' {@code only_cross_attention}) attn1 attends to
     * {@code context} too, its keys and values projected from {@code contextDim}; attn2 stays.
     */
    public String transformerBlock(String x, String context, int dim, int contextDim, int heads,
                                   boolean onlyCrossAttention) {
        int headDim = dim / heads;
        String h = x;
        String normed = layerNorm("norm1", h, dim, 1e-5);
        try (GraphBuilder.Scope s = scope("attn1")) {
            String source = onlyCrossAttention ? context : null;
            int sourceDim = onlyCrossAttention ? contextDim : dim;
            h = add(projectedAttention(normed, source, dim, sourceDim, heads, headDim, false), h);
        }
        normed = layerNorm("norm2", h, dim, 1e-5);
        try (GraphBuilder.Scope s = scope("attn2")) {
            h = add(projectedAttention(normed, context, dim, contextDim, heads, headDim, false), h);
        }
        normed = layerNorm("norm3", h, dim, 1e-5);
        try (GraphBuilder.Scope s = scope("ff")) {
            h = add(feedForward(normed, dim, dim), h);
        }
        return h;
    }

    /**
     * diffusers' {@code FeedForward} with {@code activation_fn="geglu"} in the current scope: {@code net.0.proj}
     * to twice the inner width {@code 4 * dim}, the first half gated by GELU of the second, then {@code net.2}
     * to {@code dimOut}.
     */
    public String feedForward(String x, int dim, int dimOut) {
        int inner = 4 * dim;
        String gated;
        try (GraphBuilder.Scope n = scope("net.0")) {
            String projected = linear("proj", x, dim, 2 * inner, true, 1);
            List<String> halves = graph.op("Split", 2, List.of(projected), Attr.i("axis", -1));
            gated = mul(halves.get(0), gelu(halves.get(1)));
        }
        return linear("net.2", gated, inner, dimOut, true, 1);
    }

    /**
     * diffusers' {@code Transformer2DModel} in the current scope over an image {@code x} of
     * {@code channels}: GroupNorm, {@code proj_in} (1x1 conv, or linear when {@code linearProjection}),
     * {@code depth} transformer blocks (attn1 on {@code context} when {@code onlyCrossAttention}),
     * {@code proj_out}, plus the residual.
     */
    public String transformer2d(String x, String context, int channels, int contextDim, int heads, int depth,
                                boolean linearProjection, boolean onlyCrossAttention, int groups) {
        String h = groupNorm("norm", x, channels, groups, 1e-6);
        h = linearProjection ? linear("proj_in", toTokens(h), channels, channels, true, 1)
                : toTokens(conv("proj_in", h, channels, channels, 1, 1, 0, 1));
        for (int d = 0; d < depth; d++) {
            try (GraphBuilder.Scope s = scope("transformer_blocks." + d)) {
                h = transformerBlock(h, context, channels, contextDim, heads, onlyCrossAttention);
            }
        }
        h = linearProjection ? toImage(linear("proj_out", h, channels, channels, true, 1), x)
                : conv("proj_out", toImage(h, x), channels, channels, 1, 1, 0, 1);
        return add(h, x);
    }

    /**
     * The single-head spatial self-attention of the VAE's mid block in the current scope:
     * {@code group_norm}, {@code to_q/to_k/to_v} with biases, {@code to_out.0}, plus the residual.
     */
    public String spatialSelfAttention(String x, int channels, int groups, double eps) {
        String tokens = toTokens(groupNorm("group_norm", x, channels, groups, eps));
        String attended = projectedAttention(tokens, null, channels, channels, 1, channels, true);
        return add(toImage(attended, x), x);
    }

    /** diffusers' {@code Downsample2D} with a conv in scope {@code downsamplers.0}: stride 2, padding 1. */
    public String downsample(String x, int channels) {
        try (GraphBuilder.Scope s = scope("downsamplers.0")) {
            return conv("conv", x, channels, channels, 3, 2, 1, 1);
        }
    }

    /**
     * The VAE encoder's {@code Downsample2D} (padding 0) in scope {@code downsamplers.0}: pad right
     * and bottom by one, then a stride-2 conv.
     */
    public String asymmetricDownsample(String x, int channels) {
        try (GraphBuilder.Scope s = scope("downsamplers.0")) {
            String padded = op("Pad", List.of(x, longs(0, 0, 0, 0, 0, 0, 1, 1)), Attr.s("mode", "constant"));
            return conv("conv", padded, channels, channels, 3, 2, 0, 1);
        }
    }

    /** diffusers' {@code Upsample2D} in scope {@code upsamplers.0}: nearest x2 Resize, then a 3x3 conv. */
    public String upsample(String x, int channels) {
        try (GraphBuilder.Scope s = scope("upsamplers.0")) {
            String scales = constant(DType.FP32, new long[] {4}, Weights.of(DType.FP32, 1f, 1f, 2f, 2f));
            String resized = op("Resize", List.of(x, "", scales), Attr.s("coordinate_transformation_mode", "asymmetric"),
                    Attr.s("mode", "nearest"), Attr.s("nearest_mode", "floor"));
            return conv("conv", resized, channels, channels, 3, 1, 1, 1);
        }
    }
}

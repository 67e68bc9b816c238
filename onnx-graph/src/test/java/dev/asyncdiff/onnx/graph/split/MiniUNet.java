package dev.asyncdiff.onnx.graph.split;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A small UNet with the structure and torch-export names of a diffusers UNet2DConditionModel:
 * timestep broadcast to the batch through {@code Shape(sample)}, a time embedding MLP, ResNet blocks
 * taking the time embedding, cross-attention on the text states, a downsampler, a mid block, skip
 * concatenations and an upsampler on the way up.
 */
final class MiniUNet {
    static final int LATENT = 4;
    static final int TEXT = 6;
    static final int SEQ = 5;
    private final GraphBuilder g = new GraphBuilder("mini_unet");
    private final SplittableRandom random = new SplittableRandom(7);
    private String temb;
    private String text;

    static GraphBuilder build() {
        return new MiniUNet().graph();
    }

    private GraphBuilder graph() {
        String sample = g.input("sample", DType.FP32, "batch", LATENT, "height", "width");
        String timestep = g.input("timestep", DType.FP32);
        text = g.input("encoder_hidden_states", DType.FP32, "batch", SEQ, TEXT);
        try (var s = g.scope("time_proj")) {
            String batch = g.op("Gather", List.of(g.op("Shape", List.of(sample)), g.constantLongs(0)));
            String t = g.op("Expand", List.of(timestep, batch));
            String column = g.op("Unsqueeze", List.of(t, g.constantLongs(1)));
            String angles = g.op("Mul", List.of(column, weight("freqs", 0.5f, 1, 4)));
            temb = g.op("Concat", List.of(g.op("Sin", List.of(angles)), g.op("Cos", List.of(angles))), Attr.i("axis", 1));
        }
        try (var s = g.scope("time_embedding")) {
            temb = linear("linear_1", temb, 8, 16);
            temb = silu(temb);
            temb = linear("linear_2", temb, 16, 16);
        }
        String h;
        try (var s = g.scope("conv_in")) {
            h = conv(h(sample), LATENT, 8, 3, 1);
        }
        String skip0;
        String skip1;
        try (var s = g.scope("down_blocks.0")) {
            try (var r = g.scope("resnets.0")) {
                h = resnet(h, 8, 8);
            }
            try (var a = g.scope("attentions.0")) {
                h = attention(h, 8);
            }
            skip0 = h;
            try (var d = g.scope("downsamplers.0"); var c = g.scope("conv")) {
                h = conv(h, 8, 8, 3, 2);
            }
        }
        try (var s = g.scope("down_blocks.1"); var r = g.scope("resnets.0")) {
            h = resnet(h, 8, 16);
            skip1 = h;
        }
        try (var s = g.scope("mid_block")) {
            try (var r = g.scope("resnets.0")) {
                h = resnet(h, 16, 16);
            }
            try (var a = g.scope("attentions.0")) {
                h = attention(h, 16);
            }
        }
        try (var s = g.scope("up_blocks.0")) {
            h = g.op("Concat", List.of(h, skip1), Attr.i("axis", 1));
            try (var r = g.scope("resnets.0")) {
                h = resnet(h, 32, 16);
            }
            try (var u = g.scope("upsamplers.0")) {
                String scales = g.op("Constant", List.of(), Attr.tensor("value", floatTensor(1, 1, 2, 2)));
                h = g.op("Resize", List.of(h, "", scales), Attr.s("mode", "nearest"));
                try (var c = g.scope("conv")) {
                    h = conv(h, 16, 16, 3, 1);
                }
            }
        }
        try (var s = g.scope("up_blocks.1")) {
            h = g.op("Concat", List.of(h, skip0), Attr.i("axis", 1));
            try (var r = g.scope("resnets.0")) {
                h = resnet(h, 24, 8);
            }
        }
        try (var s = g.scope("conv_norm_out")) {
            h = norm(h, 8);
        }
        try (var s = g.scope("conv_act")) {
            h = silu(h);
        }
        String out;
        try (var s = g.scope("conv_out")) {
            String w = weight("weight", 0.1f, LATENT, 8, 3, 3);
            String b = weight("bias", 0.01f, LATENT);
            out = g.namedOp("Conv", List.of(h, w, b), "out_sample", Attr.ints("pads", 1, 1, 1, 1));
        }
        g.output(out, DType.FP32, "batch", LATENT, "height", "width");
        return g;
    }

    private static String h(String value) {
        return value;
    }

    private String resnet(String x, int in, int out) {
        String h;
        try (var s = g.scope("norm1")) {
            h = norm(x, in);
        }
        h = silu(h);
        try (var s = g.scope("conv1")) {
            h = conv(h, in, out, 3, 1);
        }
        try (var s = g.scope("time_emb_proj")) {
            String t = linear(null, silu(temb), 16, out);
            h = g.op("Add", List.of(h, g.op("Unsqueeze", List.of(t, g.constantLongs(2, 3)))));
        }
        try (var s = g.scope("conv2")) {
            h = conv(silu(h), out, out, 3, 1);
        }
        String shortcut = x;
        if (in != out) {
            try (var s = g.scope("conv_shortcut")) {
                shortcut = conv(x, in, out, 1, 1);
            }
        }
        return g.op("Add", List.of(shortcut, h));
    }

    private String attention(String x, int channels) {
        String shape = g.op("Shape", List.of(x));
        String flat = g.op("Reshape", List.of(x, g.op("Concat", List.of(g.op("Slice", List.of(shape,
                g.constantLongs(0), g.constantLongs(2))), g.constantLongs(-1)), Attr.i("axis", 0))));
        String tokens = g.op("Transpose", List.of(flat), Attr.ints("perm", 0, 2, 1));
        String q;
        String k;
        String v;
        try (var s = g.scope("attn2")) {
            try (var p = g.scope("to_q")) {
                q = g.op("MatMul", List.of(tokens, weight("weight", scale(channels), channels, channels)));
            }
            try (var p = g.scope("to_k")) {
                k = g.op("MatMul", List.of(text, weight("weight", scale(TEXT), TEXT, channels)));
            }
            try (var p = g.scope("to_v")) {
                v = g.op("MatMul", List.of(text, weight("weight", scale(TEXT), TEXT, channels)));
            }
            String scores = g.op("MatMul", List.of(q, g.op("Transpose", List.of(k), Attr.ints("perm", 0, 2, 1))));
            String probs = g.op("Softmax", List.of(scores), Attr.i("axis", -1));
            String attended = g.op("MatMul", List.of(probs, v));
            try (var p = g.scope("to_out.0")) {
                attended = linear(null, attended, channels, channels);
            }
            tokens = attended;
        }
        String back = g.op("Reshape", List.of(g.op("Transpose", List.of(tokens), Attr.ints("perm", 0, 2, 1)), shape));
        return g.op("Add", List.of(back, x));
    }

    private String norm(String x, int channels) {
        String scale = weight("weight", 0f, channels);
        String bias = weight("bias", 0f, channels);
        return g.op("InstanceNormalization", List.of(x, g.op("Add", List.of(scale, g.constantScalar(1f, DType.FP32))),
                bias), Attr.f("epsilon", 1e-5f));
    }

    private String silu(String x) {
        return g.op("Mul", List.of(x, g.op("Sigmoid", List.of(x))));
    }

    private String linear(String name, String x, int in, int out) {
        if (name == null) {
            return linearHere(x, in, out);
        }
        try (var s = g.scope(name)) {
            return linearHere(x, in, out);
        }
    }

    private String linearHere(String x, int in, int out) {
        String product = g.op("MatMul", List.of(x, weight("weight", scale(in), in, out)));
        return g.op("Add", List.of(product, weight("bias", 0.05f, out)));
    }

    private String conv(String x, int in, int out, int kernel, int stride) {
        int pad = kernel / 2;
        String w = weight("weight", scale(in * kernel * kernel), out, in, kernel, kernel);
        String b = weight("bias", 0.05f, out);
        return g.op("Conv", List.of(x, w, b), Attr.ints("pads", pad, pad, pad, pad), Attr.ints("strides", stride, stride));
    }

    private static float scale(int fanIn) {
        return (float) (1 / Math.sqrt(fanIn));
    }

    private String weight(String name, float std, long... shape) {
        long count = 1;
        for (long dim : shape) {
            count *= dim;
        }
        ByteBuffer bytes = ByteBuffer.allocate((int) count * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < count; i++) {
            bytes.putFloat((float) (random.nextGaussian() * std));
        }
        bytes.flip();
        return g.parameter(name, DType.FP32, shape, bytes::duplicate);
    }

    private static ai.onnx.proto.OnnxMl.TensorProto floatTensor(float... values) {
        ai.onnx.proto.OnnxMl.TensorProto.Builder t = ai.onnx.proto.OnnxMl.TensorProto.newBuilder()
                .setDataType(ai.onnx.proto.OnnxMl.TensorProto.DataType.FLOAT_VALUE).addDims(values.length);
        for (float value : values) {
            t.addFloatData(value);
        }
        return t.build();
    }
}

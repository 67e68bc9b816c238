package dev.asyncdiff.examples.ddpm;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes a tiny diffusers {@code DDPMPipeline} folder with seeded random weights: a pixel-space UNet
 * ({@code sample} {@code [batch, 3, h, w]} float, {@code timestep} int64 {@code [batch]}, output
 * {@code out_sample}) whose node names follow a torch export ({@code /conv_in/Conv},
 * {@code /time_embedding/...}, {@code /down_blocks.0/resnets.0/...}, {@code /mid_block/...},
 * {@code /up_blocks.0/...}, {@code /conv_out/Conv}) so that the splitter finds its blocks; every resnet
 * adds a projection of the sinusoidal timestep embedding, so the timestep changes the output. Two
 * levels: image sides must be even.
 */
@SuppressWarnings("try") // scopes are opened for the names they give; the bodies never touch the guard
final class TinyDdpmModel {
    /** Image side the UNet config declares ({@code sample_size}). */
    static final int SIZE = 32;
    static final int CHANNELS = 3;
    private static final int BASE = 8;
    private static final int DEEP = 16;
    private static final int FREQUENCIES = 4;
    private static final int TEMB = 16;

    private final GraphBuilder graph = new GraphBuilder("unet");
    private final SplittableRandom random;

    private TinyDdpmModel(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /**
     * Writes the folder at {@code dir} ({@code model_index.json}, {@code scheduler/}, {@code unet/}),
     * replacing the files it writes.
     */
    static Path write(Path dir, long seed) {
        try {
            Files.createDirectories(dir.resolve("scheduler"));
            Files.createDirectories(dir.resolve("unet"));
            Files.writeString(dir.resolve("model_index.json"), """
                    {
                      "_class_name": "DDPMPipeline",
                      "_diffusers_version": "0.30.0",
                      "scheduler": ["diffusers", "DDPMScheduler"],
                      "unet": ["diffusers", "UNet2DModel"]
                    }
                    """);
            Files.writeString(dir.resolve("scheduler").resolve("scheduler_config.json"), """
                    {
                      "_class_name": "DDPMScheduler",
                      "_diffusers_version": "0.30.0",
                      "num_train_timesteps": 1000,
                      "beta_start": 0.0001,
                      "beta_end": 0.02,
                      "beta_schedule": "linear",
                      "variance_type": "fixed_small",
                      "clip_sample": true,
                      "prediction_type": "epsilon",
                      "timestep_spacing": "leading",
                      "steps_offset": 0
                    }
                    """);
            Files.writeString(dir.resolve("unet").resolve("config.json"), """
                    {
                      "_class_name": "UNet2DModel",
                      "_diffusers_version": "0.30.0",
                      "in_channels": %d,
                      "out_channels": %d,
                      "sample_size": %d,
                      "block_out_channels": [%d, %d],
                      "down_block_types": ["DownBlock2D", "DownBlock2D"],
                      "up_block_types": ["UpBlock2D", "UpBlock2D"],
                      "layers_per_block": 1
                    }
                    """.formatted(CHANNELS, CHANNELS, SIZE, BASE, DEEP));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tiny DDPM folder " + dir + ": " + e, e);
        }
        new TinyDdpmModel(seed).build().write(dir.resolve("unet").resolve("model.onnx"), ExternalDataPolicy.INLINE);
        return dir;
    }

    private GraphBuilder build() {
        String sample = graph.input("sample", DType.FP32, "batch", CHANNELS, "height", "width");
        String timestep = graph.input("timestep", DType.INT64, "batch");
        String temb = timeEmbedding(timestep);

        String h = conv("conv_in", sample, CHANNELS, BASE, 3, 1, 1.0);
        Deque<Skip> skips = new ArrayDeque<>();
        skips.push(new Skip(h, BASE));
        try (GraphBuilder.Scope block = graph.scope("down_blocks.0")) {
            h = resnet("resnets.0", h, temb, BASE, BASE);
            skips.push(new Skip(h, BASE));
            try (GraphBuilder.Scope down = graph.scope("downsamplers.0")) {
                h = conv("conv", h, BASE, BASE, 3, 2, 1.0);
            }
            skips.push(new Skip(h, BASE));
        }
        try (GraphBuilder.Scope block = graph.scope("down_blocks.1")) {
            h = resnet("resnets.0", h, temb, BASE, DEEP);
            skips.push(new Skip(h, DEEP));
        }
        try (GraphBuilder.Scope block = graph.scope("mid_block")) {
            h = resnet("resnets.0", h, temb, DEEP, DEEP);
            h = resnet("resnets.1", h, temb, DEEP, DEEP);
        }
        int current = DEEP;
        try (GraphBuilder.Scope block = graph.scope("up_blocks.0")) {
            for (int j = 0; j < 2; j++) {
                Skip skip = skips.pop();
                h = graph.op("Concat", List.of(h, skip.value()), Attr.i("axis", 1));
                h = resnet("resnets." + j, h, temb, current + skip.channels(), DEEP);
                current = DEEP;
            }
            try (GraphBuilder.Scope up = graph.scope("upsamplers.0")) {
                String scales = graph.parameter("scales", DType.FP32, new long[] {4}, floats(1f, 1f, 2f, 2f));
                h = graph.op("Resize", List.of(h, "", scales), Attr.s("coordinate_transformation_mode", "asymmetric"),
                        Attr.s("mode", "nearest"), Attr.s("nearest_mode", "floor"));
                h = conv("conv", h, DEEP, DEEP, 3, 1, 1.0);
            }
        }
        try (GraphBuilder.Scope block = graph.scope("up_blocks.1")) {
            for (int j = 0; j < 2; j++) {
                Skip skip = skips.pop();
                h = graph.op("Concat", List.of(h, skip.value()), Attr.i("axis", 1));
                h = resnet("resnets." + j, h, temb, current + skip.channels(), BASE);
                current = BASE;
            }
        }
        String out;
        try (GraphBuilder.Scope act = graph.scope("conv_act")) {
            h = silu(h);
        }
        try (GraphBuilder.Scope s = graph.scope("conv_out")) {
            String weight = randomParameter("weight", new long[] {CHANNELS, BASE, 3, 3}, 0.5 / Math.sqrt(BASE * 9.0));
            String bias = randomParameter("bias", new long[] {CHANNELS}, 0.01);
            out = graph.namedOp("Conv", List.of(h, weight, bias), "out_sample", Attr.ints("kernel_shape", 3, 3),
                    Attr.ints("pads", 1, 1, 1, 1), Attr.ints("strides", 1, 1));
        }
        graph.output(out, DType.FP32, "batch", CHANNELS, "height", "width");
        return graph;
    }

    /** diffusers' sinusoidal {@code time_proj} (cos, sin) of the int64 timesteps, then the {@code time_embedding} MLP. */
    private String timeEmbedding(String timestep) {
        String embedding;
        try (GraphBuilder.Scope s = graph.scope("time_proj")) {
            float[] frequencies = new float[FREQUENCIES];
            for (int i = 0; i < FREQUENCIES; i++) {
                frequencies[i] = (float) Math.exp(-Math.log(10_000) * i / FREQUENCIES);
            }
            String freq = graph.parameter("frequencies", DType.FP32, new long[] {1, FREQUENCIES}, floats(frequencies));
            String t = graph.op("Cast", List.of(timestep), Attr.i("to", 1));
            String args = graph.op("Mul", List.of(graph.op("Unsqueeze", List.of(t, graph.constantLongs(1))), freq));
            embedding = graph.op("Concat", List.of(graph.op("Cos", List.of(args)), graph.op("Sin", List.of(args))),
                    Attr.i("axis", 1));
        }
        try (GraphBuilder.Scope s = graph.scope("time_embedding")) {
            String hidden = linear("linear_1", embedding, 2 * FREQUENCIES, TEMB);
            try (GraphBuilder.Scope act = graph.scope("act")) {
                hidden = silu(hidden);
            }
            return linear("linear_2", hidden, TEMB, TEMB);
        }
    }

    /** A resnet block in scope {@code name}: conv1, + time projection, SiLU, conv2, + shortcut. */
    private String resnet(String name, String x, String temb, int in, int out) {
        try (GraphBuilder.Scope s = graph.scope(name)) {
            String h = conv("conv1", silu(x), in, out, 3, 1, 1.0);
            String t = linear("time_emb_proj", silu(temb), TEMB, out);
            h = graph.op("Add", List.of(h, graph.op("Unsqueeze", List.of(t, graph.constantLongs(2, 3)))));
            h = conv("conv2", silu(h), out, out, 3, 1, 0.5);
            String shortcut = in == out ? x : conv("conv_shortcut", x, in, out, 1, 1, 1.0);
            return graph.op("Add", List.of(shortcut, h));
        }
    }

    private String conv(String name, String x, int in, int out, int kernel, int stride, double gain) {
        try (GraphBuilder.Scope s = graph.scope(name)) {
            String weight = randomParameter("weight", new long[] {out, in, kernel, kernel},
                    gain / Math.sqrt((double) in * kernel * kernel));
            String bias = randomParameter("bias", new long[] {out}, 0.01);
            int pad = kernel / 2;
            return graph.op("Conv", List.of(x, weight, bias), Attr.ints("kernel_shape", kernel, kernel),
                    Attr.ints("pads", pad, pad, pad, pad), Attr.ints("strides", stride, stride));
        }
    }

    private String linear(String name, String x, int in, int out) {
        try (GraphBuilder.Scope s = graph.scope(name)) {
            String weight = randomParameter("weight", new long[] {in, out}, 1 / Math.sqrt(in));
            String bias = randomParameter("bias", new long[] {out}, 0.01);
            return graph.op("Add", List.of(graph.op("MatMul", List.of(x, weight)), bias));
        }
    }

    private String silu(String x) {
        return graph.op("Mul", List.of(x, graph.op("Sigmoid", List.of(x))));
    }

    private String randomParameter(String name, long[] shape, double std) {
        int count = 1;
        for (long dim : shape) {
            count *= (int) dim;
        }
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) (std * gaussian());
        }
        return graph.parameter(name, DType.FP32, shape, floats(values));
    }

    private double gaussian() {
        double u1 = 1.0 - random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    private static java.util.function.Supplier<ByteBuffer> floats(float... values) {
        float[] copy = values.clone();
        return () -> {
            ByteBuffer bytes = ByteBuffer.allocate(copy.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (float value : copy) {
                bytes.putFloat(value);
            }
            return bytes.flip();
        };
    }

    private record Skip(String value, int channels) {
    }
}

package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import com.google.protobuf.ByteString;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.Initializer;
import dev.asyncdiff.onnx.graph.OnnxModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The AnimateDiff motion UNet: its video contract in ONNX Runtime, its frame mixing, its spatial half, its size. */
class MotionUNetGraphTest {
    private static final MotionUNetConfig TINY = MotionUNetConfig.of(Scale.TINY);
    private static final int BATCH = 2;
    private static final int CHANNELS = 4;
    private static final int HEIGHT = 16;
    private static final int WIDTH = 8;
    private static final int TOKENS = 77;
    private static final int CONTEXT = TINY.unet().crossAttentionDim();
    private static final long SEED = 5;
    /** The proj_out of every motion module: zeroed, each module passes its input through unchanged. */
    private static final Pattern MOTION_PROJ_OUT = Pattern.compile(".*\\.motion_modules\\.\\d+\\.proj_out\\.(weight|bias)");

    @TempDir
    Path dir;

    @Test
    void declaresTheVideoInputsAndOutput() throws OrtException {
        try (GraphRun run = new GraphRun(tinyGraph(), dir.resolve("unet.onnx"))) {
            Map<String, TensorInfo> inputs = run.inputInfo();
            assertThat(inputs.keySet()).containsExactlyInAnyOrder("sample", "timestep", "encoder_hidden_states");
            assertThat(inputs.get("sample").getShape()).containsExactly(-1, CHANNELS, -1, -1, -1);
            assertThat(inputs.get("timestep").getShape()).isEmpty();
            assertThat(inputs.get("timestep").type).isEqualTo(OnnxJavaType.FLOAT);
            assertThat(inputs.get("encoder_hidden_states").getShape()).containsExactly(-1, TOKENS, CONTEXT);
            assertThat(run.outputInfo().keySet()).containsExactly("out_sample");
            assertThat(run.outputInfo().get("out_sample").getShape()).containsExactly(-1, CHANNELS, -1, -1, -1);
        }
    }

    @Test
    void oneModelRunsThreeAndFiveFramesAndMixesThem() throws OrtException {
        try (GraphRun run = new GraphRun(tinyGraph(), dir.resolve("unet.onnx"))) {
            for (int frames : new int[] {3, 5}) {
                float[] sample = gaussian(frames, BATCH * CHANNELS * frames * HEIGHT * WIDTH);
                float[] out = run(run, sample, gaussian(7, BATCH * TOKENS * CONTEXT), frames);
                float[] moved = sample.clone();
                for (int b = 0; b < BATCH; b++) {
                    for (int c = 0; c < CHANNELS; c++) {
                        for (int i = 0; i < HEIGHT * WIDTH; i++) {
                            moved[index(b, c, 0, i, frames)] += 1f;
                        }
                    }
                }
                float[] changed = run(run, moved, gaussian(7, BATCH * TOKENS * CONTEXT), frames);
                for (int f = 1; f < frames; f++) {
                    assertThat(frame(changed, 0, f, frames)).as("frame 0 reaches frame " + f + " of " + frames)
                            .isNotEqualTo(frame(out, 0, f, frames));
                }
            }
        }
    }

    @Test
    void batchItemsAreIndependentVideos() throws OrtException {
        int frames = 3;
        try (GraphRun run = new GraphRun(tinyGraph(), dir.resolve("unet.onnx"))) {
            float[] sample = gaussian(1, BATCH * CHANNELS * frames * HEIGHT * WIDTH);
            float[] context = gaussian(2, BATCH * TOKENS * CONTEXT);
            float[] out = run(run, sample, context, frames);
            int half = out.length / 2;

            float[] otherSample = sample.clone();
            float[] otherContext = context.clone();
            for (int i = sample.length / 2; i < sample.length; i++) {
                otherSample[i] = -otherSample[i];
            }
            for (int i = context.length / 2; i < context.length; i++) {
                otherContext[i] = -otherContext[i];
            }
            float[] other = run(run, otherSample, context, frames);
            assertThat(Arrays.copyOfRange(other, 0, half)).as("video 0 ignores video 1's latents")
                    .containsExactly(Arrays.copyOfRange(out, 0, half));
            assertThat(Arrays.copyOfRange(other, half, out.length)).isNotEqualTo(Arrays.copyOfRange(out, half, out.length));

            // repeat_interleave, not tile: every frame of video 0 sees video 0's text, and only it
            float[] texts = run(run, sample, otherContext, frames);
            assertThat(Arrays.copyOfRange(texts, 0, half)).as("video 0 ignores video 1's text")
                    .containsExactly(Arrays.copyOfRange(out, 0, half));
            for (int f = 0; f < frames; f++) {
                assertThat(frame(texts, 1, f, frames)).as("video 1's text reaches its frame " + f)
                        .isNotEqualTo(frame(out, 1, f, frames));
            }
        }
    }

    /** Motion modules are residual: with proj_out zeroed, the model is the SD 1.5 UNet applied to each frame. */
    @Test
    void withMotionProjOutZeroedEveryFrameIsTheBaseUnetsOutput() throws OrtException, IOException {
        int frames = 3;
        Path motion = dir.resolve("motion.onnx");
        tinyGraph().write(motion, ExternalDataPolicy.INLINE);
        Path still = dir.resolve("still.onnx");
        int zeroed = zeroMotionProjOut(motion, still);
        assertThat(zeroed).as("proj_out weight and bias of every motion module").isEqualTo(2 * TINY.motionModuleCount());

        float[] sample = gaussian(3, BATCH * CHANNELS * frames * HEIGHT * WIDTH);
        float[] context = gaussian(4, BATCH * TOKENS * CONTEXT);
        float[] video;
        float[] moving;
        try (GraphRun run = new GraphRun(still)) {
            video = run(run, sample, context, frames);
        }
        try (GraphRun run = new GraphRun(motion)) {
            moving = run(run, sample, context, frames);
        }

        // the base UNet on the frames folded into the batch, video-major, each with its video's text
        float[] images = new float[sample.length];
        float[] texts = new float[BATCH * frames * TOKENS * CONTEXT];
        for (int b = 0; b < BATCH; b++) {
            for (int f = 0; f < frames; f++) {
                int image = b * frames + f;
                for (int c = 0; c < CHANNELS; c++) {
                    for (int i = 0; i < HEIGHT * WIDTH; i++) {
                        images[(image * CHANNELS + c) * HEIGHT * WIDTH + i] = sample[index(b, c, f, i, frames)];
                    }
                }
                System.arraycopy(context, b * TOKENS * CONTEXT, texts, image * TOKENS * CONTEXT, TOKENS * CONTEXT);
            }
        }
        float[] base;
        try (GraphRun run = new GraphRun(UNetGraph.build(TINY.unet(), new Weights(SEED), DType.FP32),
                dir.resolve("sd15.onnx"))) {
            run.floatInput("sample", images, BATCH * frames, CHANNELS, HEIGHT, WIDTH)
                    .floatInput("encoder_hidden_states", texts, BATCH * frames, TOKENS, CONTEXT)
                    .floatInput("timestep", new float[] {500}, new long[0]);
            base = run.run().get("out_sample").values();
        }
        double largest = 0;
        for (int b = 0; b < BATCH; b++) {
            for (int f = 0; f < frames; f++) {
                for (int c = 0; c < CHANNELS; c++) {
                    for (int i = 0; i < HEIGHT * WIDTH; i++) {
                        float expected = base[((b * frames + f) * CHANNELS + c) * HEIGHT * WIDTH + i];
                        assertThat(video[index(b, c, f, i, frames)]).as("b%d f%d c%d i%d", b, f, c, i)
                                .isCloseTo(expected, within(1e-4f + 1e-4f * Math.abs(expected)));
                        largest = Math.max(largest, Math.abs(expected));
                    }
                }
            }
        }
        assertThat(largest).as("the base output is not trivially zero").isGreaterThan(0.01);
        assertThat(moving).as("the motion modules, not zeroed, change the output").isNotEqualTo(video);
    }

    @Test
    void halfPrecisionGraphRuns() throws OrtException {
        Path file = dir.resolve("fp16.onnx");
        MotionUNetGraph.build(TINY, new Weights(SEED), DType.FP16).write(file, ExternalDataPolicy.AUTO);
        Map<String, OrtRunner.Output> out = OrtRunner.run(file, Map.of(
                "sample", OrtRunner.Input.random(1, 1, CHANNELS, 2, HEIGHT, WIDTH),
                "timestep", OrtRunner.Input.of(i -> 999),
                "encoder_hidden_states", OrtRunner.Input.random(2, 1, TOKENS, CONTEXT)));
        assertThat(out.get("out_sample").shape()).containsExactly(1, CHANNELS, 2, HEIGHT, WIDTH);
        out.get("out_sample").assertFiniteAndVaried("fp16 out_sample");
    }

    /** One motion module against diffusers' forward written out by hand: frames attend, positions do not. */
    @Test
    @SuppressWarnings("try") // the scope is opened for its names
    void motionModuleMatchesTheReferenceForward() throws OrtException {
        int channels = 32;
        int heads = 2;
        int groups = 8;
        int batch = 2;
        int frames = 3;
        int area = 6;
        GraphBuilder graph = new GraphBuilder("motion_module");
        Layers nn = new Layers(graph, new Weights(9), DType.FP32);
        String hidden = graph.input("hidden", DType.FP32, "batch_frames", channels, "height", "width");
        String video = graph.input("video", DType.FP32, "batch", "num_frames"); // only its shape is read
        String count = nn.op("Slice", List.of(nn.op("Shape", List.of(video)), nn.longs(1), nn.longs(2)));
        String out;
        try (GraphBuilder.Scope s = nn.scope("motion_modules.0")) {
            out = TemporalTransformer.apply(nn, hidden, count, channels, heads, groups, 4);
        }
        graph.namedOp("Identity", List.of(out), "out");
        graph.output("out", DType.FP32, "batch_frames", channels, "height", "width");

        float[] input = gaussian(11, batch * frames * channels * area);
        float[] actual;
        try (GraphRun run = new GraphRun(graph, dir.resolve("module.onnx"))) {
            run.floatInput("hidden", input, batch * frames, channels, 2, 3)
                    .floatInput("video", new float[batch * frames], batch, frames);
            actual = run.run().get("out").values();
        }
        float[] expected = new TemporalTransformerReference(graph.initializers(), "motion_modules.0.", channels, heads,
                groups).forward(input, batch, frames, area);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("element %d", i).isCloseTo(expected[i], within(1e-4f + 1e-4f * Math.abs(expected[i])));
        }
        float[] residual = new float[input.length];
        for (int i = 0; i < input.length; i++) {
            residual[i] = expected[i] - input[i];
        }
        assertThat(new GraphRun.Result(new long[] {residual.length}, residual).std()).as("the module adds something")
                .isGreaterThan(0.01);
    }

    @Test
    void spatialParametersAreTheBaseUnetsByNameAndValue() {
        Map<String, Initializer> motion = tinyGraph().initializers().stream()
                .collect(Collectors.toMap(Initializer::name, Function.identity()));
        List<Initializer> base = UNetGraph.build(TINY.unet(), new Weights(SEED), DType.FP32).initializers();
        for (Initializer spatial : base) {
            Initializer same = motion.get(spatial.name());
            assertThat(same).as(spatial.name()).isNotNull();
            assertThat(same.shape()).as(spatial.name()).containsExactly(spatial.shape());
            assertThat(same.data().get()).as(spatial.name()).isEqualTo(spatial.data().get());
        }
        assertThat(motion.keySet().stream().filter(name -> !name.contains(".motion_modules.")))
                .as("everything else is a motion module's").hasSameSizeAs(base);
    }

    @Test
    void modulesAreNamedAsDiffusersNamesThem() {
        GraphBuilder graph = tinyGraph();
        List<String> nodes = graph.skeleton().getGraph().getNodeList().stream().map(n -> n.getName()).toList();
        assertThat(nodes).contains("/conv_in/Conv", "/down_blocks.0/resnets.0/conv1/Conv",
                "/down_blocks.0/attentions.0/transformer_blocks.0/attn2/to_k/MatMul",
                "/down_blocks.0/motion_modules.0/norm/InstanceNormalization",
                "/down_blocks.0/motion_modules.0/transformer_blocks.0/attn1/to_q/MatMul",
                "/down_blocks.3/motion_modules.0/transformer_blocks.0/attn2/to_v/MatMul",
                "/mid_block/motion_modules.0/proj_out/MatMul", "/mid_block/resnets.1/conv2/Conv",
                "/up_blocks.0/motion_modules.1/transformer_blocks.0/ff/net.2/MatMul",
                "/up_blocks.3/motion_modules.1/proj_in/MatMul", "/conv_out/Conv");
        List<String> names = graph.initializers().stream().map(Initializer::name).toList();
        assertThat(names).contains("down_blocks.1.motion_modules.0.transformer_blocks.0.attn1.to_out.0.bias",
                "up_blocks.2.motion_modules.1.transformer_blocks.0.ff.net.0.proj.weight",
                "mid_block.motion_modules.0.norm.weight")
                .doesNotContain("down_blocks.0.motion_modules.0.transformer_blocks.0.attn1.to_q.bias",
                        "down_blocks.0.motion_modules.1.proj_out.weight", "up_blocks.0.motion_modules.2.proj_out.weight");
        long modules = names.stream().filter(MOTION_PROJ_OUT.asPredicate()).filter(n -> n.endsWith("weight")).count();
        assertThat(modules).isEqualTo(TINY.motionModuleCount()).isEqualTo(4 * 1 + 1 + 4 * 2);
    }

    /**
     * UNetMotionModel.from_unet2d(epiCRealism's UNet, guoyww/animatediff-motion-adapter-v1-5-2): the SD 1.5 UNet
     * (859,520,964, as {@link ParameterCountTest}) plus the adapter's 453,209,280 parameters. That adapter figure is
     * diffusers' MotionAdapter of v1-5-2's config.json (block_out_channels 320, 640, 1280, 1280;
     * motion_layers_per_block 2; use_motion_mid_block true; 8 heads; no conv_in) counted through its modules
     * (each TransformerTemporalModel of width c: 22c² + 21c; 5 modules of width 320, 5 of 640, 11 of 1280; the
     * {@code pe} tables are buffers), and it is the count a diffusers user reports for the AnimateDiff-Lightning
     * adapter (the same architecture, the v1-5-2 config with new weights): "MotionAdapter ... 453,209,280
     * parameters", total with epiCRealism's UNet, CLIP and VAE 1,519,444,587 = 453,209,280 + 859,520,964
     * + 123,060,480 + 83,653,863.
     */
    @Test
    void fullScaleHasTheReleasedParameterCount() {
        MotionUNetConfig full = MotionUNetConfig.of(Scale.FULL);
        long adapter = 453_209_280L;
        assertThat(5 * cube(320) + 5 * cube(640) + 11 * cube(1280)).isEqualTo(adapter);
        assertThat(full.motionAdapterParameterCount()).isEqualTo(adapter);
        assertThat(full.motionModuleCount()).isEqualTo(21);
        assertThat(MotionUNetGraph.build(full, new Weights(0), DType.FP16).parameterCount())
                .isEqualTo(859_520_964L + adapter).isEqualTo(1_312_730_244L);
        assertThat(full.maxFrames()).isEqualTo(32);
        assertThat(full.motionAdapterConfig()).containsEntry("_class_name", "MotionAdapter")
                .containsEntry("block_out_channels", List.of(320, 640, 1280, 1280))
                .containsEntry("motion_layers_per_block", 2).containsEntry("motion_mid_block_layers_per_block", 1)
                .containsEntry("motion_num_attention_heads", 8).containsEntry("motion_max_seq_length", 32)
                .containsEntry("motion_norm_num_groups", 32).containsEntry("use_motion_mid_block", true);
        assertThat(full.toDiffusersConfig()).containsEntry("_class_name", "UNetMotionModel")
                .containsEntry("down_block_types", List.of("CrossAttnDownBlockMotion", "CrossAttnDownBlockMotion",
                        "CrossAttnDownBlockMotion", "DownBlockMotion"))
                .containsEntry("up_block_types", List.of("UpBlockMotion", "CrossAttnUpBlockMotion",
                        "CrossAttnUpBlockMotion", "CrossAttnUpBlockMotion"))
                .containsEntry("num_attention_heads", 8).containsEntry("motion_num_attention_heads", 8)
                .containsEntry("motion_max_seq_length", 32).containsEntry("use_motion_mid_block", true)
                .containsEntry("cross_attention_dim", 768).containsEntry("layers_per_block", 2);
    }

    /** A TransformerTemporalModel of width c, from its layers: independent of {@link MotionUNetConfig}'s formula. */
    private static long cube(long c) {
        long norm = 2 * c;
        long linear = c * c + c;
        long attention = 3 * c * c + linear;
        long feedForward = (c * 8 * c + 8 * c) + (4 * c * c + c);
        return norm + linear + (3 * norm + 2 * attention + feedForward) + linear;
    }

    private static GraphBuilder tinyGraph() {
        return MotionUNetGraph.build(TINY, new Weights(SEED), DType.FP32);
    }

    private static float[] run(GraphRun run, float[] sample, float[] context, int frames) throws OrtException {
        run.floatInput("sample", sample, BATCH, CHANNELS, frames, HEIGHT, WIDTH)
                .floatInput("encoder_hidden_states", context, BATCH, TOKENS, CONTEXT)
                .floatInput("timestep", new float[] {500}, new long[0]);
        GraphRun.Result out = run.run().get("out_sample");
        assertThat(out.shape()).containsExactly(BATCH, CHANNELS, frames, HEIGHT, WIDTH);
        assertThat(out.std()).isBetween(0.01, 10.0);
        return out.values();
    }

    /** The flat index of {@code [b, c, f, i]} in a {@code [batch, channels, frames, height*width]} video. */
    private static int index(int b, int c, int f, int i, int frames) {
        return ((b * CHANNELS + c) * frames + f) * HEIGHT * WIDTH + i;
    }

    private static float[] frame(float[] video, int b, int f, int frames) {
        float[] values = new float[CHANNELS * HEIGHT * WIDTH];
        for (int c = 0; c < CHANNELS; c++) {
            for (int i = 0; i < HEIGHT * WIDTH; i++) {
                values[c * HEIGHT * WIDTH + i] = video[index(b, c, f, i, frames)];
            }
        }
        return values;
    }

    private static float[] gaussian(long seed, int count) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            double u1 = random.nextDouble(1e-12, 1);
            values[i] = (float) (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * random.nextDouble()));
        }
        return values;
    }

    /** Copies {@code source} to {@code target} with the motion modules' proj_out zeroed; returns how many tensors. */
    private static int zeroMotionProjOut(Path source, Path target) throws IOException {
        ModelProto model = OnnxModel.load(source).proto();
        GraphProto.Builder graph = model.getGraph().toBuilder();
        int zeroed = 0;
        for (int k = 0; k < graph.getInitializerCount(); k++) {
            TensorProto tensor = graph.getInitializer(k);
            if (MOTION_PROJ_OUT.matcher(tensor.getName()).matches()) {
                long count = Arrays.stream(OnnxModel.dims(tensor)).reduce(1, Math::multiplyExact);
                graph.setInitializer(k, tensor.toBuilder().clearFloatData()
                        .setRawData(ByteString.copyFrom(new byte[(int) count * Float.BYTES])).build());
                zeroed++;
            }
        }
        Files.write(target, model.toBuilder().setGraph(graph).build().toByteArray());
        return zeroed;
    }
}

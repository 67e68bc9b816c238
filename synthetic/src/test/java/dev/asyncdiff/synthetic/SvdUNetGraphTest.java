package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.Initializer;
import dev.asyncdiff.onnx.graph.split.ComponentChain;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.onnx.graph.split.SplitOptions;
import dev.asyncdiff.onnx.graph.split.SplitResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stable Video Diffusion's UNet: the tiny graph run in ONNX Runtime, and the full graph's size and names. */
class SvdUNetGraphTest {
    private static final SvdUNetConfig TINY = SvdUNetConfig.of(Scale.TINY);
    private static final int SIZE = 8;
    @TempDir
    static Path dir;
    private static Path model;

    @BeforeAll
    static void writeTinyModel() {
        model = dir.resolve("svd_unet.onnx");
        SvdUNetGraph.build(TINY, new Weights(7), DType.FP32).write(model,
                ExternalDataPolicy.AUTO);
    }

    @Test
    void declaresTheExportedInputsWithSymbolicBatchAndFrames() throws OrtException {
        try (GraphRun run = new GraphRun(model)) {
            Map<String, TensorInfo> inputs = run.inputInfo();
            assertThat(inputs.keySet()).containsExactly("sample", "timestep", "encoder_hidden_states", "added_time_ids");
            assertThat(inputs.get("sample").getShape()).containsExactly(-1, -1, 8, -1, -1);
            assertThat(inputs.get("timestep").getShape()).containsExactly(1);
            assertThat(inputs.get("timestep").type).isEqualTo(OnnxJavaType.FLOAT);
            assertThat(inputs.get("encoder_hidden_states").getShape()).containsExactly(-1, 1, TINY.crossAttentionDim());
            assertThat(inputs.get("added_time_ids").getShape()).containsExactly(-1, 3);
            assertThat(run.outputInfo().keySet()).containsExactly("out_sample");
            assertThat(run.outputInfo().get("out_sample").getShape()).containsExactly(-1, -1, 4, -1, -1);
        }
    }

    @Test
    void runsForAnyFrameCountAndBatch() throws OrtException {
        for (int[] batchFrames : new int[][] {{2, 3}, {2, 5}, {1, 4}}) {
            int batch = batchFrames[0];
            int frames = batchFrames[1];
            float[] out = run(new Inputs(batch, frames));
            assertThat(out).hasSize(batch * frames * 4 * SIZE * SIZE);
            OrtRunner.Output output = new OrtRunner.Output(new long[] {batch, frames, 4, SIZE, SIZE}, out);
            output.assertFiniteAndVaried(batch + " x " + frames + " frames");
            assertThat(new GraphRun.Result(output.shape(), out).std()).isBetween(0.01, 10.0);
        }
    }

    @Test
    void halfPrecisionGraphRunsWithAFloatTimestep() throws OrtException {
        Path file = dir.resolve("svd_unet_fp16.onnx");
        SvdUNetGraph.build(TINY, new Weights(7), DType.FP16).write(file, ExternalDataPolicy.AUTO);
        Map<String, TensorInfo> declared = OrtRunner.inputInfo(file);
        assertThat(declared.get("sample").type).isEqualTo(OnnxJavaType.FLOAT16);
        assertThat(declared.get("timestep").type).isEqualTo(OnnxJavaType.FLOAT);
        OrtRunner.Output out = OrtRunner.run(file, Map.of("sample", OrtRunner.Input.random(1, 2, 3, 8, SIZE, SIZE),
                "timestep", OrtRunner.Input.of(i -> 0.5, 1),
                "encoder_hidden_states", OrtRunner.Input.random(2, 2, 1, TINY.crossAttentionDim()),
                "added_time_ids", OrtRunner.Input.of(i -> new double[] {6, 127, 0.02}[(int) (i % 3)], 2, 3)))
                .get("out_sample");
        assertThat(out.shape()).containsExactly(2, 3, 4, SIZE, SIZE);
        out.assertFiniteAndVaried("fp16 out_sample");
    }

    @Test
    void changingTheFirstFrameChangesTheOthers() throws OrtException {
        int frames = TINY.numFrames();
        Inputs inputs = new Inputs(2, frames);
        float[] before = run(inputs);
        inputs.perturbFrame(0, 0);
        float[] after = run(inputs);
        int frame = 4 * SIZE * SIZE;
        assertThat(slice(after, 0, frame)).as("frame 0 itself").isNotEqualTo(slice(before, 0, frame));
        assertThat(slice(after, 2 * frame, frame)).as("frame 2 sees frame 0 through the temporal layers")
                .isNotEqualTo(slice(before, 2 * frame, frame));
        int item = frames * frame;
        assertThat(slice(after, item, item)).as("the other batch item").containsExactly(slice(before, item, item));
    }

    @Test
    void batchItemsAreIndependent() throws OrtException {
        Inputs inputs = new Inputs(2, TINY.numFrames());
        float[] before = run(inputs);
        inputs.perturbItem(0);
        float[] after = run(inputs);
        int item = before.length / 2;
        assertThat(slice(after, 0, item)).as("item 0, whose every input changed").isNotEqualTo(slice(before, 0, item));
        assertThat(slice(after, item, item)).as("item 1").containsExactly(slice(before, item, item));
    }

    @Test
    void timestepImageEmbeddingAndTimeIdsReachTheOutput() throws OrtException {
        Inputs inputs = new Inputs(1, 2);
        float[] base = run(inputs);
        inputs.timestep = 0.2f;
        float[] otherTime = run(inputs);
        assertThat(otherTime).isNotEqualTo(base);
        inputs.timeIds[1] = 40;
        float[] otherMotion = run(inputs);
        assertThat(otherMotion).isNotEqualTo(otherTime);
        inputs.context[0] += 1;
        assertThat(run(inputs)).isNotEqualTo(otherMotion);
    }

    /**
     * stabilityai/stable-video-diffusion-img2vid-xt's UNet has 1,524,623,082 parameters. Sources: the parameter table
     * of the Ctrl-Crash paper (Table G.6, "UNet ... 1,524,623,082", the SVD UNet it fine-tunes) and notes quoting the
     * hub's safetensors metadata for the checkpoint (1,524,623,082, F32). The same total follows from the config
     * through diffusers' modules ({@link SvdUNetConfig#parameterCount()}; an independent Python tally of the module
     * tree of diffusers' unet_spatio_temporal_condition.py, unet_3d_blocks.py, resnet.py, transformer_temporal.py and
     * attention.py gave the same number). The graph is built without writing, so no weights are materialised.
     */
    @Test
    void fullScaleMatchesTheReleasedModel() {
        SvdUNetConfig full = SvdUNetConfig.of(Scale.FULL);
        GraphBuilder unet = SvdUNetGraph.build(full, new Weights(0), DType.FP16);
        assertThat(full.parameterCount()).isEqualTo(1_524_623_082L);
        assertThat(unet.parameterCount()).isEqualTo(1_524_623_082L);
        assertThat(shape(unet, "conv_in.weight")).containsExactly(320, 8, 3, 3);
        assertThat(shape(unet, "add_embedding.linear_1.weight")).containsExactly(768, 1280);
        assertThat(shape(unet, "down_blocks.0.resnets.0.temporal_res_block.conv1.weight"))
                .containsExactly(320, 320, 3, 1, 1);
        assertThat(shape(unet, "down_blocks.0.resnets.0.time_mixer.mix_factor")).containsExactly(1);
        assertThat(shape(unet, "down_blocks.1.resnets.0.spatial_res_block.conv_shortcut.weight"))
                .containsExactly(640, 320, 1, 1);
        assertThat(shape(unet, "down_blocks.2.attentions.1.temporal_transformer_blocks.0.ff_in.net.0.proj.weight"))
                .containsExactly(1280, 10240);
        assertThat(shape(unet, "down_blocks.0.attentions.0.temporal_transformer_blocks.0.attn2.to_k.weight"))
                .as("[in, out]: keys from the 1024-wide image embedding").containsExactly(1024, 320);
        assertThat(shape(unet, "mid_block.attentions.0.time_pos_embed.linear_1.weight")).containsExactly(1280, 5120);
        assertThat(shape(unet, "up_blocks.3.attentions.2.time_mixer.mix_factor")).containsExactly(1);
        assertThat(shape(unet, "up_blocks.0.resnets.2.spatial_res_block.conv1.weight"))
                .as("up_blocks.0 ends on down_blocks.2's downsampler skip").containsExactly(1280, 2560, 3, 3);
        assertThat(shape(unet, "conv_out.weight")).containsExactly(4, 320, 3, 3);
        assertThat(unet.initializers().stream().map(i -> i.name()))
                .noneMatch(name -> name.startsWith("down_blocks.3.attentions") || name.startsWith("up_blocks.0.attentions"));
    }

    @Test
    void smallerScalesCountTheirParametersLikeTheirGraphs() {
        for (Scale scale : List.of(Scale.TINY, Scale.SMALL)) {
            SvdUNetConfig cfg = SvdUNetConfig.of(scale);
            assertThat(SvdUNetGraph.build(cfg, new Weights(0), DType.FP32).parameterCount()).as(scale.cliName())
                    .isEqualTo(cfg.parameterCount());
        }
    }

    /**
     * The project's splitter plans the graph once the frame axis is bound (at batch 1, as for every family) and
     * cuts it between blocks; the components chained in order give the whole UNet's output for 2 samples.
     */
    @Test
    void splitComponentsChainedReproduceTheWholeUNet() throws Exception {
        Map<String, long[]> shapes = Map.of("sample", new long[] {1, TINY.numFrames(), 8, SIZE, SIZE});
        SplitResult split = new GraphSplitter(dir.resolve("cache")).split(model, 3, SIZE, SIZE, null,
                ExternalDataPolicy.AUTO, SplitOptions.defaults().withInputShapes(shapes));
        assertThat(split.manifest().components()).hasSize(3);
        Inputs inputs = new Inputs(2, TINY.numFrames());
        Map<String, ComponentChain.Input> in = Map.of(
                "sample", new ComponentChain.Input(inputs.sample, new long[] {2, TINY.numFrames(), 8, SIZE, SIZE}),
                "timestep", new ComponentChain.Input(new float[] {inputs.timestep}, new long[] {1}),
                "encoder_hidden_states", new ComponentChain.Input(inputs.context,
                        new long[] {2, 1, TINY.crossAttentionDim()}),
                "added_time_ids", new ComponentChain.Input(inputs.timeIds, new long[] {2, 3}));
        float[] whole = ComponentChain.run(model, in).get("out_sample");
        assertThat(ComponentChain.chain(split, in).get("out_sample")).containsExactly(whole);
    }

    @Test
    void nodesAreNamedLikeTheTorchExport() {
        List<String> names = SvdUNetGraph.build(TINY, new Weights(0), DType.FP32).skeleton().getGraph().getNodeList()
                .stream().map(node -> node.getName()).toList();
        assertThat(names).contains("/conv_in/Conv", "/time_proj/Sin", "/time_embedding/linear_1/MatMul",
                "/add_time_proj/Cos", "/add_embedding/linear_2/Add",
                "/down_blocks.0/resnets.0/spatial_res_block/conv1/Conv",
                "/down_blocks.0/resnets.0/temporal_res_block/conv1/Conv",
                "/down_blocks.0/resnets.0/temporal_res_block/time_emb_proj/MatMul",
                "/down_blocks.0/resnets.0/time_mixer/Sigmoid",
                "/down_blocks.0/attentions.0/proj_in/MatMul",
                "/down_blocks.0/attentions.0/time_pos_embed/linear_1/MatMul",
                "/down_blocks.0/attentions.0/transformer_blocks.0/attn2/to_k/MatMul",
                "/down_blocks.0/attentions.0/temporal_transformer_blocks.0/ff_in/net.0/proj/MatMul",
                "/down_blocks.0/attentions.0/temporal_transformer_blocks.0/attn1/to_q/MatMul",
                "/down_blocks.0/downsamplers.0/conv/Conv", "/down_blocks.1/resnets.0/spatial_res_block/conv_shortcut/Conv",
                "/mid_block/resnets.1/temporal_res_block/conv2/Conv",
                "/mid_block/attentions.0/temporal_transformer_blocks.0/attn2/to_v/MatMul",
                "/up_blocks.0/resnets.1/spatial_res_block/conv1/Conv", "/up_blocks.0/upsamplers.0/Resize",
                "/up_blocks.1/attentions.1/proj_out/MatMul", "/conv_norm_out/InstanceNormalization", "/conv_out/Conv");
        assertThat(names).noneMatch(name -> name.startsWith("/down_blocks.1/attentions"))
                .noneMatch(name -> name.startsWith("/up_blocks.0/attentions"));
    }

    @Test
    void writesDiffusersConfig() {
        Map<String, Object> config = SvdUNetConfig.of(Scale.FULL).toDiffusersConfig();
        assertThat(config).containsEntry("_class_name", "UNetSpatioTemporalConditionModel")
                .containsEntry("in_channels", 8).containsEntry("out_channels", 4)
                .containsEntry("block_out_channels", List.of(320, 640, 1280, 1280))
                .containsEntry("num_attention_heads", List.of(5, 10, 20, 20))
                .containsEntry("addition_time_embed_dim", 256)
                .containsEntry("projection_class_embeddings_input_dim", 768)
                .containsEntry("cross_attention_dim", 1024).containsEntry("layers_per_block", 2)
                .containsEntry("transformer_layers_per_block", 1).containsEntry("num_frames", 25)
                .containsEntry("sample_size", 96);
        assertThat(SvdUNetConfig.of(Scale.FULL).sizeMultiple()).isEqualTo(8);
        assertThat(TINY.sizeMultiple()).isEqualTo(2);
    }

    @Test
    void rejectsWidthsThatAreNotGroupNormMultiples() {
        assertThatThrownBy(() -> new SvdUNetConfig(8, 8, 4, List.of(32, 48), List.of(SvdUNetConfig.CROSS_DOWN,
                SvdUNetConfig.PLAIN_DOWN), List.of(SvdUNetConfig.PLAIN_UP, SvdUNetConfig.CROSS_UP), 1, 32,
                List.of(1, 1), List.of(1, 1), 8, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("multiples of 32");
    }

    /**
     * One {@code SpatioTemporalResBlock} (32 to 64 channels, so with {@code conv_shortcut}) and the
     * {@code TransformerSpatioTemporalModel} after it, run in ONNX Runtime and in a PyTorch module tree written
     * from diffusers' code ({@code src/test/python/svd_blocks_reference.py}) with the same weights. The context
     * differs per frame, so the temporal blocks' first-frame context is checked, and one frame is marked
     * image-only, so the time mixers' {@code Where} is. The torch outputs are committed in {@code svd-blocks/}; the
     * fixture the script reads is written to {@code target/svd-blocks-fixture} on every run.
     */
    @Test
    void spatioTemporalBlocksMatchAPyTorchReference() throws Exception {
        int batch = 2;
        int frames = 3;
        int in = 32;
        int out = 64;
        int heads = 2;
        int side = 4;
        GraphBuilder graph = new GraphBuilder("blocks");
        Layers nn = new Layers(graph, new Weights(5), DType.FP32);
        String x = graph.input("x", DType.FP32, "batch_frames", in, "height", "width");
        String temb = graph.input("temb", DType.FP32, "batch_frames", TINY.timeEmbedDim());
        String context = graph.input("context", DType.FP32, "batch_frames", 1, TINY.crossAttentionDim());
        String indicator = graph.input("indicator", DType.FP32, "batch", "frames");
        SpatioTemporalBlocks blocks = new SpatioTemporalBlocks(nn, TINY, temb, context, indicator);
        String res;
        try (GraphBuilder.Scope s = nn.scope("resnets.0")) {
            res = blocks.resBlock(x, in, out, 1e-6);
        }
        String attended;
        try (GraphBuilder.Scope s = nn.scope("attentions.0")) {
            attended = blocks.transformer(res, out, heads, 1);
        }
        graph.output(res, DType.FP32, "batch_frames", out, "height", "width");
        graph.output(attended, DType.FP32, "batch_frames", out, "height", "width");

        Path fixture = Files.createDirectories(Path.of("target", "svd-blocks-fixture"));
        StringBuilder manifest = new StringBuilder();
        for (Initializer parameter : graph.initializers()) {
            Files.write(fixture.resolve(parameter.name() + ".bin"), bytesOf(parameter.bytes()));
            manifest.append(parameter.name()).append(dims(parameter.shape())).append('\n');
        }
        SplittableRandom random = new SplittableRandom(3);
        float[] xs = Inputs.gaussian(random, batch * frames * in * side * side);
        float[] tembs = Inputs.gaussian(random, batch * frames * TINY.timeEmbedDim());
        float[] contexts = Inputs.gaussian(random, batch * frames * TINY.crossAttentionDim());
        float[] indicators = {0, 0, 0, 0, 1, 0};
        Map<String, GraphRun.Result> results;
        try (GraphRun run = new GraphRun(graph, fixture.resolve("blocks.onnx"))) {
            results = run.floatInput("x", xs, batch * frames, in, side, side)
                    .floatInput("temb", tembs, batch * frames, TINY.timeEmbedDim())
                    .floatInput("context", contexts, batch * frames, 1, TINY.crossAttentionDim())
                    .floatInput("indicator", indicators, batch, frames).run();
        }
        Map<String, float[]> tensors = new LinkedHashMap<>();
        tensors.put("x", xs);
        tensors.put("temb", tembs);
        tensors.put("context", contexts);
        tensors.put("indicator", indicators);
        tensors.put("res_out", results.get(res).values());
        tensors.put("transformer_out", results.get(attended).values());
        Map<String, long[]> shapes = Map.of("x", new long[] {batch * frames, in, side, side},
                "temb", new long[] {batch * frames, TINY.timeEmbedDim()},
                "context", new long[] {batch * frames, 1, TINY.crossAttentionDim()},
                "indicator", new long[] {batch, frames}, "res_out", results.get(res).shape(),
                "transformer_out", results.get(attended).shape());
        for (Map.Entry<String, float[]> tensor : tensors.entrySet()) {
            ByteBuffer bytes = ByteBuffer.allocate(tensor.getValue().length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(tensor.getValue());
            Files.write(fixture.resolve(tensor.getKey() + ".bin"), bytes.array());
            manifest.append(tensor.getKey()).append(dims(shapes.get(tensor.getKey()))).append('\n');
        }
        Files.writeString(fixture.resolve("manifest.txt"), manifest);
        Files.writeString(fixture.resolve("heads.txt"), Integer.toString(heads));

        Files.writeString(fixture.resolve("heads.txt"), Integer.toString(heads));
        for (String name : List.of("res_out", "transformer_out")) {
            float[] reference = reference(name);
            float[] actual = tensors.get(name);
            assertThat(actual).as(name).hasSameSizeAs(reference);
            double worst = 0;
            for (int i = 0; i < actual.length; i++) {
                worst = Math.max(worst, Math.abs(actual[i] - reference[i]));
            }
            assertThat(worst).as(name + ": max |onnx - torch|").isLessThan(1e-4);
        }
    }

    /** The torch output {@code name} that {@code svd_blocks_reference.py} wrote for this fixture. */
    private static float[] reference(String name) throws IOException {
        try (var in = SvdUNetGraphTest.class.getResourceAsStream("/svd-blocks/" + name + ".bin")) {
            ByteBuffer bytes = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
            float[] values = new float[bytes.remaining() / Float.BYTES];
            bytes.asFloatBuffer().get(values);
            return values;
        }
    }

    private static byte[] bytesOf(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return bytes;
    }

    private static String dims(long[] shape) {
        StringBuilder text = new StringBuilder();
        for (long dim : shape) {
            text.append(' ').append(dim);
        }
        return text.toString();
    }

    private static float[] run(Inputs inputs) throws OrtException {
        try (GraphRun run = new GraphRun(model)) {
            run.floatInput("sample", inputs.sample, inputs.batch, inputs.frames, 8, SIZE, SIZE)
                    .floatInput("timestep", new float[] {inputs.timestep}, 1)
                    .floatInput("encoder_hidden_states", inputs.context, inputs.batch, 1, TINY.crossAttentionDim())
                    .floatInput("added_time_ids", inputs.timeIds, inputs.batch, 3);
            GraphRun.Result out = run.run().get("out_sample");
            assertThat(out.shape()).containsExactly(inputs.batch, inputs.frames, 4, SIZE, SIZE);
            return out.values();
        }
    }

    private static float[] slice(float[] values, int from, int length) {
        return Arrays.copyOfRange(values, from, from + length);
    }

    private static long[] shape(GraphBuilder graph, String name) {
        return graph.initializers().stream().filter(i -> i.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no parameter " + name)).shape();
    }

    /** Random inputs of a batch, with the pipeline's time ids (fps 6, motion bucket 127, noise augmentation 0.02). */
    private static final class Inputs {
        final int batch;
        final int frames;
        final float[] sample;
        final float[] context;
        final float[] timeIds;
        float timestep = 0.7f;

        Inputs(int batch, int frames) {
            this.batch = batch;
            this.frames = frames;
            SplittableRandom random = new SplittableRandom(11);
            sample = gaussian(random, batch * frames * 8 * SIZE * SIZE);
            context = gaussian(random, batch * TINY.crossAttentionDim());
            timeIds = new float[batch * 3];
            for (int b = 0; b < batch; b++) {
                timeIds[3 * b] = 6;
                timeIds[3 * b + 1] = 127;
                timeIds[3 * b + 2] = 0.02f;
            }
        }

        void perturbFrame(int item, int frame) {
            int size = 8 * SIZE * SIZE;
            int from = (item * frames + frame) * size;
            for (int i = from; i < from + size; i++) {
                sample[i] = -sample[i];
            }
        }

        void perturbItem(int item) {
            for (int f = 0; f < frames; f++) {
                perturbFrame(item, f);
            }
            int width = TINY.crossAttentionDim();
            for (int i = item * width; i < (item + 1) * width; i++) {
                context[i] += 0.5f;
            }
            timeIds[3 * item + 1] = 30;
        }

        private static float[] gaussian(SplittableRandom random, int count) {
            float[] values = new float[count];
            for (int i = 0; i < count; i++) {
                values[i] = (float) (Math.sqrt(-2 * Math.log(random.nextDouble(1e-12, 1)))
                        * Math.cos(2 * Math.PI * random.nextDouble()));
            }
            return values;
        }
    }
}

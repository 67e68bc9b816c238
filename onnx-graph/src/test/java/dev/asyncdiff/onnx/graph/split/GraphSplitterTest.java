package dev.asyncdiff.onnx.graph.split;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.OnnxModel;
import dev.asyncdiff.onnx.graph.OnnxWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GraphSplitterTest {
    private static final int H = 8;
    private static final int W = 6;

    @TempDir
    Path dir;
    private Path model;
    private GraphSplitter splitter;

    @BeforeEach
    void writeModel() {
        model = dir.resolve("unet/model.onnx");
        MiniUNet.build().write(model, ExternalDataPolicy.EXTERNAL);
        splitter = new GraphSplitter(dir.resolve("cache"));
    }

    static Map<String, ComponentChain.Input> inputs(int batch, long seed) {
        return inputs(batch, seed, H, W);
    }

    static Map<String, ComponentChain.Input> inputs(int batch, long seed, int h, int w) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] sample = new float[batch * MiniUNet.LATENT * h * w];
        float[] text = new float[batch * MiniUNet.SEQ * MiniUNet.TEXT];
        for (int i = 0; i < sample.length; i++) {
            sample[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < text.length; i++) {
            text[i] = (float) random.nextGaussian();
        }
        return Map.of(
                "sample", new ComponentChain.Input(sample, new long[] {batch, MiniUNet.LATENT, h, w}),
                "timestep", new ComponentChain.Input(new float[] {417f}, new long[0]),
                "encoder_hidden_states", new ComponentChain.Input(text, new long[] {batch, MiniUNet.SEQ, MiniUNet.TEXT}));
    }

    private static void assertMaxAbsDiff(float[] actual, float[] expected, double tolerance) {
        assertThat(actual).hasSameSizeAs(expected);
        double max = 0;
        for (int i = 0; i < actual.length; i++) {
            max = Math.max(max, Math.abs(actual[i] - expected[i]));
        }
        assertThat(max).as("max |components - whole|").isLessThanOrEqualTo(tolerance);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void componentsInOrderReproduceTheWholeModel(int parts) throws Exception {
        SplitResult split = splitter.split(model, parts, H, W, null, ExternalDataPolicy.AUTO);
        assertThat(split.manifest().components()).hasSize(parts);
        for (int batch : new int[] {1, 2}) {
            var in = inputs(batch, 11 + parts);
            float[] whole = ComponentChain.run(model, in).get("out_sample");
            float[] chained = ComponentChain.chain(split, in).get("out_sample");
            assertMaxAbsDiff(chained, whole, 1e-5);
        }
    }

    @Test
    void componentsPlannedForOneSizeRunAtOthers() throws Exception {
        SplitResult split = splitter.split(model, 3, H, W, null, ExternalDataPolicy.AUTO);
        for (int[] size : new int[][] {{16, 12}, {4, 8}, {12, 12}}) {
            var in = inputs(2, size[0], size[0], size[1]);
            assertMaxAbsDiff(ComponentChain.chain(split, in).get("out_sample"),
                    ComponentChain.run(model, in).get("out_sample"), 1e-5);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void onlyLatentTensorsCrossAndEveryComponentEmbedsItsOwnTimestep(int parts) {
        SplitResult split = splitter.split(model, parts, H, W, null, ExternalDataPolicy.AUTO);
        for (SplitManifest.Component component : split.manifest().components()) {
            for (SplitManifest.Tensor input : component.inputs()) {
                if (input.from() != null) {
                    assertThat(input.name()).as("crossing tensor of component " + component.index())
                            .doesNotContain("time_proj").doesNotContain("time_embedding");
                    assertThat(input.specShape()[0]).as("crossing tensors grow with the batch").isEqualTo(-1);
                    assertThat(input.specShape()).as("and with the image size").containsSequence(-1L, -1L);
                    assertThat(input.shape()[0]).as("shapes are given at batch 1").isEqualTo(1);
                }
            }
            OnnxModel componentModel = OnnxModel.load(split.directory().resolve(component.file()));
            boolean usesTimeEmbedding = componentModel.graph().getNodeList().stream()
                    .anyMatch(n -> n.getName().contains("time_emb_proj"));
            if (usesTimeEmbedding) {
                assertThat(componentModel.graph().getInputList()).extracting(v -> v.getName()).contains("timestep");
                assertThat(componentModel.graph().getNodeList()).extracting(NodeProto::getName)
                        .contains("/time_embedding/linear_1/MatMul");
            }
        }
    }

    @Test
    void theSampleIsReadForItsShapeOnlyAfterTheFirstComponent() {
        SplitResult split = splitter.split(model, 3, H, W, null, ExternalDataPolicy.AUTO);
        List<SplitManifest.Component> components = split.manifest().components();
        assertThat(components.get(0).inputs()).anySatisfy(t -> {
            assertThat(t.name()).isEqualTo("sample");
            assertThat(t.shapeOnly()).isNull();
        });
        assertThat(components.get(2).inputs()).filteredOn(t -> t.name().equals("sample"))
                .allSatisfy(t -> assertThat(t.shapeOnly()).isTrue());
    }

    @Test
    void costIsBalancedWhereUnitsAllow() {
        for (int parts = 2; parts <= 3; parts++) {
            SplitResult split = splitter.split(model, parts, H, W, null, ExternalDataPolicy.AUTO);
            double slowest = split.manifest().components().stream().mapToDouble(SplitManifest.Component::costShare)
                    .max().orElseThrow();
            double total = split.manifest().components().stream().mapToDouble(SplitManifest.Component::costShare).sum();
            assertThat(total).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-3));
            assertThat(slowest).as("slowest share for N=" + parts).isLessThanOrEqualTo(1.15 / parts);
        }
    }

    @Test
    void externalDataRoundTripsThroughComponents() throws Exception {
        SplitResult split = splitter.split(model, 2, H, W, dir.resolve("ext"), ExternalDataPolicy.EXTERNAL);
        for (SplitManifest.Component component : split.manifest().components()) {
            assertThat(OnnxWriter.dataFileOf(split.directory().resolve(component.file()))).exists();
        }
        var in = inputs(1, 3);
        assertMaxAbsDiff(ComponentChain.chain(split, in).get("out_sample"),
                ComponentChain.run(model, in).get("out_sample"), 1e-5);
    }

    @Test
    void aLegacyWeightsPbDataFileIsFoundByTheLocationTheGraphNames() throws Exception {
        Path legacy = dir.resolve("legacy/unet/model.onnx");
        Files.createDirectories(legacy.getParent());
        Files.copy(OnnxWriter.dataFileOf(model), legacy.resolveSibling("weights.pb"));
        ModelProto.Builder proto = OnnxModel.load(model).proto().toBuilder();
        for (var tensor : proto.getGraphBuilder().getInitializerBuilderList()) {
            for (var entry : tensor.getExternalDataBuilderList()) {
                if (entry.getKey().equals("location")) {
                    entry.setValue("weights.pb");
                }
            }
        }
        Files.write(legacy, proto.build().toByteArray());
        assertThat(legacy.resolveSibling("model.onnx_data")).doesNotExist();
        SplitResult split = splitter.split(legacy, 2, H, W, dir.resolve("legacy-split"), ExternalDataPolicy.AUTO);
        var in = inputs(1, 5);
        assertMaxAbsDiff(ComponentChain.chain(split, in).get("out_sample"),
                ComponentChain.run(model, in).get("out_sample"), 1e-5);
    }

    @Test
    void cacheIsReusedAndRebuiltWhenTheModelChanges() throws Exception {
        SplitResult first = splitter.split(model, 2, H, W, null, ExternalDataPolicy.AUTO);
        assertThat(first.reused()).isFalse();
        SplitResult second = splitter.split(model, 2, H, W, null, ExternalDataPolicy.AUTO);
        assertThat(second.reused()).isTrue();
        assertThat(second.directory()).isEqualTo(first.directory());

        OnnxModel read = OnnxModel.load(model);
        var changed = read.initializers().stream().map(init -> init.name().equals("conv_in.bias")
                ? new dev.asyncdiff.onnx.graph.Initializer(init.name(), init.dtype(), init.shape(),
                        () -> java.nio.ByteBuffer.allocate((int) init.byteCount()))
                : init).toList();
        // Materialise before overwriting the files the lazy initializers read from.
        var materialised = changed.stream().map(init -> {
            java.nio.ByteBuffer copy = java.nio.ByteBuffer.allocate((int) init.byteCount());
            copy.put(init.bytes()).flip();
            return new dev.asyncdiff.onnx.graph.Initializer(init.name(), init.dtype(), init.shape(), copy::duplicate);
        }).toList();
        ModelProto skeleton = read.proto().toBuilder().setGraph(read.graph().toBuilder().clearInitializer()).build();
        OnnxWriter.write(skeleton, materialised, model, ExternalDataPolicy.EXTERNAL);

        SplitResult third = splitter.split(model, 2, H, W, null, ExternalDataPolicy.AUTO);
        assertThat(third.reused()).isFalse();
        assertThat(third.manifest().sourceHash()).isNotEqualTo(first.manifest().sourceHash());
    }

    @Test
    void aPreSplitFolderIsAcceptedAsIs() throws Exception {
        Path out = dir.resolve("presplit");
        splitter.split(model, 3, H, W, out, ExternalDataPolicy.AUTO);
        SplitResult opened = splitter.split(out, 3, H, W, null, ExternalDataPolicy.AUTO);
        assertThat(opened.reused()).isTrue();
        assertThat(opened.componentFiles()).hasSize(3);
        var in = inputs(1, 5);
        assertMaxAbsDiff(ComponentChain.chain(opened, in).get("out_sample"),
                ComponentChain.run(model, in).get("out_sample"), 1e-5);
        assertThatThrownBy(() -> splitter.split(out, 2, H, W, null, ExternalDataPolicy.AUTO))
                .hasMessageContaining("holds 3 components, 2 were asked for");
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void graphsWithoutBlockNamesAreCutWhereFewTensorsAreLive(int parts) throws Exception {
        OnnxModel read = OnnxModel.load(model);
        var graph = read.graph().toBuilder();
        for (int i = 0; i < graph.getNodeCount(); i++) {
            graph.setNode(i, graph.getNode(i).toBuilder().setName("node_" + i));
        }
        Path anonymous = dir.resolve("anon/model.onnx");
        var skeleton = read.proto().toBuilder().setGraph(graph.clearInitializer()).build();
        OnnxWriter.write(skeleton, read.initializers(), anonymous, ExternalDataPolicy.INLINE);

        SplitResult split = splitter.split(anonymous, parts, H, W, null, ExternalDataPolicy.AUTO);
        var in = inputs(1, 9);
        assertMaxAbsDiff(ComponentChain.chain(split, in).get("out_sample"),
                ComponentChain.run(anonymous, in).get("out_sample"), 1e-5);
    }

    @Test
    void tooManyPartsIsAClearError() {
        assertThatThrownBy(() -> splitter.split(model, 40, H, W, null, ExternalDataPolicy.AUTO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("into 40 components").hasMessageContaining("units")
                .hasMessageContaining("conv_in");
    }

    @Test
    void aGraphWithoutLatentInputIsAClearError() {
        GraphBuilder g = new GraphBuilder("no_latent");
        String x = g.input("pixels", DType.FP32, 1, 4);
        g.output(g.op("Relu", List.of(x)), DType.FP32, 1, 4);
        Path file = dir.resolve("nolatent.onnx");
        g.write(file, ExternalDataPolicy.INLINE);
        assertThatThrownBy(() -> splitter.split(file, 2, H, W, null, ExternalDataPolicy.AUTO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no latent input")
                .hasMessageContaining("sample").hasMessageContaining("pixels");
    }

    @Test
    void aMissingExternalDataFileIsAClearError() throws Exception {
        Files.delete(OnnxWriter.dataFileOf(model));
        assertThatThrownBy(() -> splitter.split(model, 2, H, W, null, ExternalDataPolicy.AUTO))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("model.onnx_data");
    }

    @Test
    void aFolderIsResolvedToItsDenoiser() {
        assertThat(GraphSplitter.denoiserFile(dir)).isEqualTo(model);
        assertThatThrownBy(() -> GraphSplitter.denoiserFile(dir.resolve("unet/missing")))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("unet/model.onnx");
    }
}

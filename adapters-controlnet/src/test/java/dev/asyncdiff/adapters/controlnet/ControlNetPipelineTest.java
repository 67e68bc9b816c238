package dev.asyncdiff.adapters.controlnet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.adapters.sd.ModelFolder;
import dev.asyncdiff.adapters.sd.StableDiffusionPipeline;
import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ControlImage;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.api.StepContext;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.onnx.graph.merge.ControlNetMerge;
import dev.asyncdiff.spi.PipelineContext;
import dev.asyncdiff.synthetic.Family;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ControlNet generation end to end on tiny synthetic folders, through the engine's add-on path. */
class ControlNetPipelineTest {
    private static final int SIZE = 64;
    private static final int STEPS = 6;

    @TempDir
    Path cache;

    @Test
    void controlNetAtScaleZeroGivesThePlainPipelinesImage() {
        Engine engine = ControlNetFixtures.engine(1, cache);
        Path base = ControlNetFixtures.base(Family.SD15, false);
        float[] plain;
        try (DiffusionPipeline pipeline = engine.open(base);
             PipelineOutput out = pipeline.run(request().build())) {
            plain = out.latents().toFloatArray();
        }
        float[] zero;
        float[] guided;
        try (DiffusionPipeline pipeline = ControlNetFixtures.open(engine, base, ControlNetFixtures.controlNet(Family.SD15, 7))) {
            assertThat(pipeline.requestKinds()).containsExactly(RequestKind.CONTROLNET);
            zero = latents(pipeline, request().control(ControlImage.of(ControlNetFixtures.edges(SIZE), 0)));
            guided = latents(pipeline, request().control(ControlImage.of(ControlNetFixtures.edges(SIZE))));
        }
        assertThat(zero).containsExactly(plain);
        assertThat(ControlNetMergeTest.maxDifference(guided, plain)).isGreaterThan(1e-3f);
    }

    @Test
    void mergedAndSeparateAgreeSequentiallyAndAsyncStaysClose() {
        Path base = ControlNetFixtures.base(Family.SD15, false);
        Path net = ControlNetFixtures.controlNet(Family.SD15, 7);
        GenerationRequest.Builder request = request().control(new ControlImage(ControlNetFixtures.edges(SIZE), 0.9, 0,
                0.8));
        float[] separate = placed(base, net, ControlNets.Placement.SEPARATE, AsyncConfig.SEQUENTIAL, request);
        float[] merged = placed(base, net, ControlNets.Placement.MERGED, AsyncConfig.SEQUENTIAL, request);
        assertThat(ControlNetMergeTest.maxDifference(merged, separate)).isLessThan(2e-4f);
        float[] async = placed(base, net, ControlNets.Placement.MERGED, new AsyncConfig(2, 1, 1, false), request);
        float difference = ControlNetMergeTest.maxDifference(async, merged);
        assertThat(difference).isGreaterThan(0f).isLessThan(0.5f * maxAbs(merged));
    }

    @Test
    void aSecondControlNetAtScaleZeroChangesNothingAndSeveralSum() {
        Engine engine = ControlNetFixtures.engine(1, cache);
        Path base = ControlNetFixtures.base(Family.SD15, false);
        Path first = ControlNetFixtures.controlNet(Family.SD15, 7);
        Path second = ControlNetFixtures.controlNet(Family.SD15, 8);
        BufferedImage edges = ControlNetFixtures.edges(SIZE);
        float[] one;
        try (DiffusionPipeline pipeline = ControlNetFixtures.open(engine, base, first)) {
            one = latents(pipeline, request().control(ControlImage.of(edges)));
        }
        try (DiffusionPipeline pipeline = ControlNetFixtures.open(engine, base, first, second)) {
            float[] secondOff = latents(pipeline, request().control(ControlImage.of(edges))
                    .control(ControlImage.of(edges, 0)));
            float[] both = latents(pipeline, request().control(ControlImage.of(edges)).control(ControlImage.of(edges)));
            assertThat(ControlNetMergeTest.maxDifference(secondOff, one)).isLessThan(1e-5f);
            assertThat(ControlNetMergeTest.maxDifference(both, one)).isGreaterThan(1e-3f);
            assertThatThrownBy(() -> pipeline.run(request().control(ControlImage.of(edges)).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("give one control image each, got 1");
        }
    }

    @Test
    void guessModeScalesTheConditionalBranchByLogspaceAndSilencesTheUnconditionalOne() {
        PipelineContext context = ControlNetFixtures.engine(1, cache).context();
        ModelFolder base = ModelFolder.open(ControlNetFixtures.base(Family.SD15, false));
        try (ControlNets nets = ControlNets.open(base, List.of(ControlNetFixtures.controlNet(Family.SD15, 7)),
                ControlNets.Placement.MERGED, context)) {
            GenerationRequest request = request().control(new ControlImage(ControlNetFixtures.edges(SIZE), 0.5, 0.25,
                    1)).guessMode(true).build();
            StepInputs hook = nets.stepInputs(request, new NamedTensors());
            try (Tensor latents = Tensor.zeros(dev.asyncdiff.api.DType.FP32, 1, 4, 8, 8);
                 NamedTensors unconditional = hook.build(new StepContext(2, 4, 500, 0, 2, true), latents);
                 NamedTensors conditional = hook.build(new StepContext(2, 4, 500, 1, 2, true), latents);
                 NamedTensors early = hook.build(new StepContext(0, 4, 900, 1, 2, true), latents)) {
                float[] scales = conditional.get(ControlNetMerge.scalesInput(0)).toFloatArray();
                int residuals = scales.length;
                assertThat(residuals).isEqualTo(ControlNetMerge.residualCount(dev.asyncdiff.onnx.graph.OnnxModel.load(
                        nets.models().get(0).modelFile())));
                assertThat(scales[0]).isCloseTo(0.05f, org.assertj.core.data.Offset.offset(1e-6f));
                assertThat(scales[residuals - 1]).isCloseTo(0.5f, org.assertj.core.data.Offset.offset(1e-6f));
                int middle = (residuals - 1) / 2;
                assertThat(scales[middle]).isCloseTo((float) (0.5 * Math.pow(10, -1 + (double) middle / (residuals - 1))),
                        org.assertj.core.data.Offset.offset(1e-6f));
                assertThat(unconditional.get(ControlNetMerge.scalesInput(0)).toFloatArray()).containsOnly(0f);
                // step 0 of 4 lies before control_guidance_start 0.25
                assertThat(early.get(ControlNetMerge.scalesInput(0)).toFloatArray()).containsOnly(0f);
            }
        } finally {
            context.close();
        }
    }

    @Test
    void sdxlControlNetGuidesInEveryStrategy() {
        Path base = ControlNetFixtures.base(Family.SDXL, false);
        Path net = ControlNetFixtures.controlNet(Family.SDXL, 7);
        GenerationRequest.Builder request = request().control(ControlImage.of(ControlNetFixtures.edges(SIZE), 0.5))
                .guessMode(true);
        float[] sequential = placed(base, net, ControlNets.Placement.MERGED, AsyncConfig.SEQUENTIAL, request);
        for (AsyncConfig config : List.of(new AsyncConfig(2, 1, 1, false), new AsyncConfig(2, 2, 1, false),
                new AsyncConfig(3, 1, 1, false))) {
            float[] async = placed(base, net, ControlNets.Placement.MERGED, config, request);
            assertThat(ControlNetMergeTest.maxDifference(async, sequential)).as(config.toString())
                    .isLessThan(0.5f * maxAbs(sequential));
        }
    }

    @Test
    void badCombinationsAreClearErrors() {
        Engine engine = ControlNetFixtures.engine(1, cache);
        Path sd15 = ControlNetFixtures.base(Family.SD15, false);
        assertThatThrownBy(() -> ControlNetFixtures.open(engine, sd15, ControlNetFixtures.controlNet(Family.SDXL, 7)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("was made for SDXL");
        assertThatThrownBy(() -> ControlNetFixtures.open(engine, sd15, cache.resolve("missing")))
                .hasMessageContaining("missing");
        try (DiffusionPipeline plain = engine.open(sd15)) {
            assertThatThrownBy(() -> plain.run(request().control(ControlImage.of(ControlNetFixtures.edges(SIZE)))
                    .build())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--controlnet");
        }
        assertThatThrownBy(() -> new ControlImage(ControlNetFixtures.edges(SIZE), 1, 0.6, 0.4))
                .hasMessageContaining("0 <= start < end <= 1");
    }

    private float[] placed(Path base, Path net, ControlNets.Placement placement, AsyncConfig config,
                           GenerationRequest.Builder request) {
        PipelineContext context = ControlNetFixtures.engine(config.devicesRequired(), cache).context();
        ControlNets nets = ControlNets.open(ModelFolder.open(base), List.of(net), placement, context);
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.open(base, context, nets)) {
            pipeline.setAsyncConfig(config);
            return latents(pipeline, request);
        }
    }

    private static GenerationRequest.Builder request() {
        return GenerationRequest.builder("a lighthouse").steps(STEPS).seed(3).size(SIZE, SIZE).guidanceScale(5);
    }

    private static float[] latents(DiffusionPipeline pipeline, GenerationRequest.Builder request) {
        try (PipelineOutput out = pipeline.run(request.build())) {
            return out.latents().toFloatArray();
        }
    }

    private static float maxAbs(float[] values) {
        float max = 0;
        for (float v : values) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }
}

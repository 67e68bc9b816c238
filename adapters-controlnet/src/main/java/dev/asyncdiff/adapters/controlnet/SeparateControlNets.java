package dev.asyncdiff.adapters.controlnet;

import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.StepContext;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.onnx.graph.merge.ControlNetMerge;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The step inputs of ControlNets run on their own ({@link ControlNets.Placement#SEPARATE}): every step, each
 * ControlNet runs whole on the branch's scaled latents, and the residuals, scaled per image and residual and summed
 * over the ControlNets, become the controlnet UNet's residual inputs. A ControlNet whose scales are all zero at a
 * step (outside its guidance window, guess mode's unconditional branch) is not run.
 */
final class SeparateControlNets implements StepInputs {
    /** ControlNet j's scales at a step, {@code [batch, residuals]} flattened. */
    @FunctionalInterface
    interface Scales {
        float[] at(StepContext step, int controlNet, int batch);
    }

    private final List<ControlNetModel> nets;
    private final List<InferenceSession> sessions;
    private final int residuals;
    private final List<float[]> images;
    private final int width;
    private final int height;
    private final NamedTensors prompt;
    private final Scales scales;

    SeparateControlNets(List<ControlNetModel> nets, List<InferenceSession> sessions, int residuals,
                        List<float[]> images, int width, int height, NamedTensors prompt, Scales scales) {
        this.nets = nets;
        this.sessions = sessions;
        this.residuals = residuals;
        this.images = images;
        this.width = width;
        this.height = height;
        this.prompt = prompt;
        this.scales = scales;
    }

    @Override
    public NamedTensors build(StepContext step, Tensor scaled) {
        int batch = (int) scaled.shape()[0];
        float[][] sums = new float[residuals][];
        long[][] shapes = new long[residuals][];
        for (int j = 0; j < nets.size(); j++) {
            float[] scale = scales.at(step, j, batch);
            if (allZero(scale) && sums[0] != null) {
                continue;
            }
            try (Tensor timestep = Tensor.scalar((float) step.timestep());
                 Tensor image = Tensor.ofFloats(ControlNets.repeat(images.get(j), batch), batch, 3, height, width);
                 NamedTensors out = sessions.get(j).run(inputs(j, step, scaled, timestep, image, batch))) {
                for (int i = 0; i < residuals; i++) {
                    Tensor residual = out.get(name(i));
                    float[] values = residual.toFloatArray();
                    int perImage = values.length / batch;
                    if (sums[i] == null) {
                        sums[i] = new float[values.length];
                        shapes[i] = residual.shape();
                    }
                    for (int k = 0; k < values.length; k++) {
                        sums[i][k] += values[k] * scale[(k / perImage) * residuals + i];
                    }
                }
            }
        }
        NamedTensors inputs = new NamedTensors().put(SAMPLE, scaled.to(scaled.dtype()));
        for (int i = 0; i < residuals; i++) {
            inputs.put(name(i), Tensor.ofFloats(sums[i], shapes[i]));
        }
        return inputs;
    }

    private Map<String, Tensor> inputs(int j, StepContext step, Tensor scaled, Tensor timestep, Tensor image,
                                       int batch) {
        Map<String, Tensor> in = new HashMap<>();
        for (TensorSpec spec : sessions.get(j).inputs()) {
            String name = spec.name();
            switch (name) {
                case SAMPLE -> in.put(name, scaled);
                case "timestep" -> in.put(name, timestep);
                case "controlnet_cond" -> in.put(name, image);
                default -> {
                    Tensor whole = prompt.get(name);
                    in.put(name, step.branches() == 2 ? whole.batchSlice((long) step.branch() * batch, batch) : whole);
                }
            }
        }
        return in;
    }

    private String name(int i) {
        return i < residuals - 1 ? ControlNetMerge.downResidual(i) : ControlNetMerge.MID_RESIDUAL;
    }

    private static boolean allZero(float[] values) {
        for (float v : values) {
            if (v != 0) {
                return false;
            }
        }
        return true;
    }
}

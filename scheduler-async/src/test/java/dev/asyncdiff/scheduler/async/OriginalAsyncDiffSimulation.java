package dev.asyncdiff.scheduler.async;

import java.util.HashMap;
import java.util.Map;

/**
 * A single-threaded port of the original AsyncDiff's rules ({@code asyncdiff/async_sd.py}): every
 * rank holds every module (component) with a cache, runs the whole pipeline on its own latents, and
 * ranks exchange module caches and noise predictions by broadcast. Python's {@code %} is
 * {@link Math#floorMod}. The image is rank 0's.
 */
final class OriginalAsyncDiffSimulation {
    private final int modelN;
    private final int stride;
    private final int warmUp;
    private final boolean timeShift;

    OriginalAsyncDiffSimulation(int modelN, int stride, int warmUp, boolean timeShift) {
        this.modelN = modelN;
        this.stride = stride;
        this.warmUp = warmUp;
        this.timeShift = timeShift;
    }

    float[] run(float[] initial, float[] condition, double[] timesteps, double guidance) {
        int world = modelN + stride - 1;
        int[] owner = new int[world];
        boolean[] replica = new boolean[world];
        for (int r = 0; r < world; r++) {
            owner[r] = r < modelN ? r : modelN - 1;
            replica[r] = r >= modelN;
        }
        float[][] latents = new float[world][];
        @SuppressWarnings("unchecked")
        Map<String, float[]>[][] cache = new Map[world][modelN];
        for (int r = 0; r < world; r++) {
            latents[r] = initial.clone();
        }
        int steps = timesteps.length;
        for (int k = 0; k < steps; k++) {
            // unet_forward, before the modules run: cache synchronisation and the timestep argument.
            boolean sync = stride == 1 || Math.floorMod(k - 1, stride) == 1;
            if (sync && k >= warmUp) {
                for (int i = 0; i < modelN; i++) {
                    for (int r = 0; r < world; r++) {
                        cache[r][i] = cache[i][i];
                    }
                }
            }
            float[][] outputs = new float[world][];
            for (int r = 0; r < world; r++) {
                double t = timesteps[k];
                if (stride == 1) {
                    if (timeShift && k >= warmUp) {
                        t = timesteps[k - 1];
                    }
                } else if (k >= warmUp) {
                    int shift = timeShift ? 1 : 0;
                    t = r < modelN && Math.floorMod(k - 1, stride) == 0 && k < steps - 1
                            ? timesteps[k + 1 - shift] : timesteps[k - shift];
                }
                float[] sample = FakeModel.Scheduler.scale(latents[r], timesteps[k]);
                if (guidance > 1) {
                    sample = doubled(sample);
                }
                float[] doubledCondition = guidance > 1 ? doubled(condition) : condition;
                Map<String, float[]> values = new HashMap<>();
                values.put("sample", sample);
                values.put("encoder_hidden_states", doubledCondition);
                for (int i = 0; i < modelN; i++) {
                    boolean runLocally = owner[r] == i && Math.floorMod(k - 1, stride) == 0;
                    Map<String, float[]> result;
                    if (k < warmUp || runLocally) {
                        result = FakeModel.stage(i, modelN, values, (float) t);
                        if (k + 1 == warmUp || (k + 1 > warmUp && !replica[r])) {
                            cache[r][i] = result;
                        }
                    } else {
                        result = cache[r][i];
                    }
                    values.putAll(result);
                }
                outputs[r] = values.get("out_sample");
            }
            // unet_forward, after the modules ran: the step counter is k + 1 now.
            int after = k + 1;
            if (stride == 1 && after >= warmUp) {
                for (int r = 0; r < world; r++) {
                    outputs[r] = outputs[modelN - 1];
                }
            } else if (stride == 2 && after >= warmUp && Math.floorMod(after - 1, stride) == 1) {
                for (int r = 0; r < world; r++) {
                    outputs[r] = outputs[modelN];
                }
            }
            for (int r = 0; r < world; r++) {
                float[] eps = guidance > 1 ? guided(outputs[r], guidance) : outputs[r];
                latents[r] = FakeModel.Scheduler.update(eps, timesteps[k], latents[r]);
            }
        }
        return latents[0];
    }

    private static float[] doubled(float[] x) {
        float[] out = new float[2 * x.length];
        System.arraycopy(x, 0, out, 0, x.length);
        System.arraycopy(x, 0, out, x.length, x.length);
        return out;
    }

    private static float[] guided(float[] prediction, double scale) {
        int half = prediction.length / 2;
        float[] out = new float[half];
        for (int j = 0; j < half; j++) {
            out[j] = (float) (prediction[j] + scale * (prediction[half + j] - prediction[j]));
        }
        return out;
    }
}

// The documentation a new user reads is true of the repository they cloned: IAM actions, the ECS
// service, the log-group permission, the published image, and no link outside the repository.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

interface IamPolicy {
  Statement: { Action: string | string[] }[];
}

function actions(path: string): string[] {
  const policy = JSON.parse(read(path)) as IamPolicy;
  return policy.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

const NUMBERS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

describe('deploy/README.md', () => {
  const text = read('deploy/README.md');

  it('names every IAM action of both policies, and counts the read-only ones right', () => {
    for (const action of [
      ...actions('deploy/iam/policy.json'),
      ...actions('deploy/iam/policy-readonly.json'),
    ]) {
      expect(text, action).toContain(action);
    }
    const readOnly = actions('deploy/iam/policy-readonly.json').length;
    const claimed = /policy-readonly\.json` has only the (\w+) /.exec(text)?.[1];
    expect(claimed === undefined ? undefined : NUMBERS.indexOf(claimed)).toBe(readOnly);
  });

  it('describes an ECS service only with a service definition beside the task definition', () => {
    if (/desiredCount/.test(text)) {
      const service = JSON.parse(read('deploy/ecs/service.json')) as {
        desiredCount: number;
        taskDefinition: string;
      };
      const task = JSON.parse(read('deploy/ecs/task-definition.json')) as { family: string };
      expect(service.desiredCount).toBe(1);
      expect(service.taskDefinition).toBe(task.family);
    }
  });

  it('documents logs:CreateLogGroup wherever the task definition asks awslogs to create its group', () => {
    if (read('deploy/ecs/task-definition.json').includes('"awslogs-create-group": "true"')) {
      expect(text).toContain('logs:CreateLogGroup');
    }
  });
});

describe('the published image', () => {
  const manifests = [
    'deploy/kubernetes/deployment.yaml',
    'deploy/kubernetes/deployment-git-sync.yaml',
    'deploy/kubernetes/cronjob.yaml',
  ];

  it('is built and pushed by a release workflow, multi-arch, under the name the manifests use', () => {
    const workflow = read('.github/workflows/release.yml');
    expect(workflow).toMatch(/docker\/setup-buildx-action/);
    expect(workflow).toMatch(/platforms: linux\/amd64,linux\/arm64/);
    expect(workflow).toMatch(/push: true/);
    expect(workflow).toMatch(/tags: \['v\*\.\*\.\*'\]/);
    const version = (JSON.parse(read('package.json')) as { version: string }).version;
    for (const manifest of manifests) {
      const images = [...read(manifest).matchAll(/image: (ghcr\.io\/\S+)/g)].map((m) => m[1]);
      expect(images.length, manifest).toBeGreaterThan(0);
      for (const image of images) expect(image).toBe(`ghcr.io/sg-reconciler/sg-reconciler:${version}`);
    }
    expect(workflow).toContain('ghcr.io/${{ github.repository_owner }}/sg-reconciler');
  });

  it('is named in the README as the one users pull', () => {
    expect(read('README.md')).toContain('ghcr.io/sg-reconciler/sg-reconciler:<version>');
  });
});

describe('README.md', () => {
  it('stands alone: no link outside the repository', () => {
    const text = read('README.md');
    const targets = [...text.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1] ?? '');
    for (const target of targets.filter((t) => !/^(https?:|#|mailto:)/.test(t))) {
      expect(target.startsWith('../'), target).toBe(false);
      expect(existsSync(join(ROOT, target.split('#')[0] ?? '')), target).toBe(true);
    }
  });
});
